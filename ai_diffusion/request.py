"""The request contract: everything a generation needs, as plain dataclasses.

The docker fills it, the CLI fills it, the workflow builder reads it, and it round-trips
through JSON exactly. Images are PNG bytes with their size (no Pillow, no Qt here); the caller
crops (for inpaint the selection's context crop) and says in ``region`` where the result lands.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from .errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class InvalidRequest(UserError):
    """A request value the painter (or a script) can correct."""


@dataclass(frozen=True)
class Extent:
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True)
class Bounds:
    x: int
    y: int
    width: int
    height: int

    @property
    def extent(self) -> Extent:
        return Extent(self.width, self.height)


def png_size(data: bytes) -> Extent:
    """Width and height from a PNG's IHDR chunk, without decoding it."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise InvalidRequest("This image is not a PNG file. Save it as PNG and try again.")
    width, height = struct.unpack(">II", data[16:24])
    return Extent(width, height)


@dataclass(frozen=True)
class Image:
    """A PNG image and its size."""

    data: bytes = field(repr=False)
    width: int
    height: int

    @classmethod
    def from_png(cls, data: bytes) -> Image:
        size = png_size(data)
        return cls(data, size.width, size.height)

    @property
    def extent(self) -> Extent:
        return Extent(self.width, self.height)


@dataclass(frozen=True)
class LoraRef:
    name: str
    strength: float = 1.0


@dataclass(frozen=True)
class Sampling:
    sampler: str = "euler"
    scheduler: str = "normal"
    steps: int = 20
    cfg: float = 7.0
    seed: int = 0
    batch_size: int = 1


@dataclass(frozen=True)
class Resolution:
    """The size to sample at; the result is then scaled to the target (``extent``, or the input
    image's size). Default: about the family's native pixel count, at the target's aspect
    ratio."""

    scale: float = 1.0  # sides × this: 0.5 = a quarter of the pixels (faster, less detail)
    own_size: bool = False  # sample at the target's own size instead (no scaling; ``scale`` unused)


class Preprocess(str, Enum):
    none = "none"
    canny = "canny"


@dataclass(frozen=True)
class ControlLayer:
    model: str
    image: Image
    strength: float = 1.0
    start: float = 0.0
    end: float = 1.0
    preprocess: Preprocess = Preprocess.none


@dataclass(frozen=True)
class RegionPrompt:
    """A part of the picture with a prompt of its own: ``mask`` is an 8-bit grayscale PNG of
    the image's size, white where the region is (grey: partly). The request's own prompt
    still describes the whole picture."""

    prompt: str
    mask: Image


MAX_REGIONS = 16


UPSCALE_FACTORS = (1.5, 4.0)  # the factors Upscale mode offers
REFINE_STRENGTHS = (0.05, 1.0)  # a tiled refine's strength, when there is one


@dataclass(frozen=True)
class UpscaleRef:
    """Upscale ``image`` with an upscale model (models/upscale_models). The model's own factor
    is corrected to ``extent``, or to ``factor`` × the image's size (each side rounded).

    ``refine`` > 0: then refine the upscaled image with the request's model at that strength,
    in tiles of ``tile_size`` (None = the family's native size) that share ``tile_overlap``
    pixels and are blended with a feathered edge; one job does all tiles."""

    model: str
    extent: Extent | None = None  # scale the upscaled image to this size; None = model's factor
    factor: float | None = None  # or to the image's size × this (1.5–4)
    refine: float = 0.0  # strength of the tiled refine (0.05–1); 0 = none
    tile_overlap: int = 96  # pixels each tile shares with its neighbours
    tile_size: int | None = None  # tile sides in pixels; None = the family's native size

    def size_for(self, image: Extent) -> Extent | None:
        """The result's size for an input of size ``image`` (None: the model's own factor)."""
        if self.extent is not None:
            return self.extent
        if self.factor is not None:
            return Extent(round(image.width * self.factor), round(image.height * self.factor))
        return None


class Mode(str, Enum):
    txt2img = "txt2img"
    img2img = "img2img"
    inpaint = "inpaint"
    upscale = "upscale"
    edit = "edit"  # an instruction-editing model changes the image as the prompt says


class ModelKind(Enum):
    checkpoint = "checkpoint"  # one file in models/checkpoints
    split = "split"  # a diffusion model in models/diffusion_models + text encoders + VAE


@dataclass(frozen=True)
class GenerationRequest:
    # The model file: a checkpoint (models/checkpoints) or a diffusion model
    # (models/diffusion_models); ``kind`` says which (None = look it up on the server).
    checkpoint: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    extent: Extent = Extent(512, 512)  # result size; with an input image, the image's size
    sampling: Sampling = Sampling()
    vae: str | None = None
    family: str | None = None  # model family ("sd15", "sdxl", …); None = detect from the name
    loras: tuple[LoraRef, ...] = ()
    image: Image | None = None
    strength: float = 1.0
    mask: Image | None = None  # 8-bit grayscale PNG of the image's size, white = repaint
    controls: tuple[ControlLayer, ...] = ()
    upscale: UpscaleRef | None = None
    region: Bounds | None = None  # where the result lands on the canvas (the caller's crop)
    kind: ModelKind | None = None
    text_encoders: tuple[str, ...] = ()  # split models: () = found by the family's rules
    guidance: float | None = None  # FluxGuidance (Flux); None = the family's default
    edit: bool = False  # instruction edit of ``image`` (in ``mask`` if given)
    references: tuple[Image, ...] = ()  # further images for edit models that take them
    resolution: Resolution = Resolution()  # the size to sample at (default: the family's)
    regions: tuple[RegionPrompt, ...] = ()  # parts of the picture with their own prompts
    # The result is only looked at, not kept (live painting): where the server can, it comes
    # back over the live connection instead of being saved to its disk and downloaded, which
    # saves a round trip. Lost with a dropped connection; the caller then asks again.
    streamed: bool = False

    def __post_init__(self) -> None:
        # Accept lists from callers; store tuples so requests compare and hash by value.
        object.__setattr__(self, "loras", tuple(self.loras))
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "text_encoders", tuple(self.text_encoders))
        object.__setattr__(self, "references", tuple(self.references))
        object.__setattr__(self, "regions", tuple(self.regions))
        if isinstance(self.kind, str):
            object.__setattr__(self, "kind", ModelKind(self.kind))

    @property
    def model(self) -> str:
        return self.checkpoint

    @property
    def mode(self) -> Mode:
        if self.edit and self.image is not None:
            return Mode.edit
        if self.image is not None and self.mask is not None:
            return Mode.inpaint
        if self.image is not None and self.upscale is not None:
            if not self.checkpoint or self.upscale.refine > 0:
                return Mode.upscale
        if self.image is not None and self.strength < 1.0:
            return Mode.img2img
        return Mode.txt2img

    def validate(self) -> None:
        """Raise :class:`InvalidRequest` for values no server could use."""
        s = self.sampling
        if self.mode is not Mode.upscale and not self.checkpoint:
            raise InvalidRequest("Choose a model (checkpoint) to generate with.")
        if s.steps < 1:
            raise InvalidRequest(f"Steps must be at least 1 (got {s.steps}).")
        if s.steps > 10000:
            raise InvalidRequest(f"Steps must be at most 10000 (got {s.steps}).")
        if not 1 <= s.batch_size <= 64:
            raise InvalidRequest(f"Batch size must be between 1 and 64 (got {s.batch_size}).")
        if not 0 <= s.cfg <= 100:
            raise InvalidRequest(f"Guidance (CFG) must be between 0 and 100 (got {s.cfg}).")
        if not 0 <= s.seed < 2**64:
            raise InvalidRequest(f"The seed must be between 0 and {2**64 - 1}.")
        if not 0.0 < self.strength <= 1.0:
            raise InvalidRequest(
                f"Strength must be above 0% and at most 100% (got {self.strength:.0%})."
            )
        if self.extent.width < 8 or self.extent.height < 8:
            raise InvalidRequest("The image is too small: it needs at least 8×8 pixels.")
        if self.extent.width > 16384 or self.extent.height > 16384:
            raise InvalidRequest("The image is too large: at most 16384 pixels on each side.")
        if not self.resolution.own_size and not 0.25 <= self.resolution.scale <= 4.0:
            raise InvalidRequest(
                "The resolution scale must be between 25% and 400% of the model's size "
                f"(got {self.resolution.scale:.0%})."
            )
        if self.mask is not None and self.image is None:
            raise InvalidRequest("Inpainting needs the image as well as the mask.")
        if self.edit and self.image is None:
            raise InvalidRequest("Edit mode needs the image to edit (the canvas or a layer).")
        if self.references and not self.edit:
            raise InvalidRequest("Reference images are only used in Edit mode. Turn Edit on.")
        if self.guidance is not None and not 0 <= self.guidance <= 100:
            raise InvalidRequest(f"Guidance must be between 0 and 100 (got {self.guidance}).")
        if (
            self.mask is not None
            and self.image is not None
            and self.mask.extent != self.image.extent
        ):
            raise InvalidRequest(
                f"The mask is {self.mask.width}×{self.mask.height} but the image is "
                f"{self.image.width}×{self.image.height}; they must be the same size."
            )
        for c in self.controls:
            if not 0.0 <= c.start < c.end <= 1.0:
                raise InvalidRequest(
                    f"ControlNet '{c.model}': start must be before end, both between 0 and 1."
                )
            if not 0.0 <= c.strength <= 10.0:
                raise InvalidRequest(
                    f"ControlNet '{c.model}': strength must be between 0 and 10 (got {c.strength})."
                )
        for lora in self.loras:
            if not -100.0 <= lora.strength <= 100.0:
                raise InvalidRequest(
                    f"LoRA '{lora.name}': strength must be between -100 and 100 "
                    f"(got {lora.strength})."
                )
        _validate_regions(self)
        if self.upscale is not None and self.mask is not None:
            raise InvalidRequest(
                "Upscaling and inpainting cannot run in one request: inpaint first, then "
                "upscale the result."
            )
        if self.upscale is not None:
            _validate_upscale(self.upscale, self)

    # JSON --------------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps(_encode(asdict(self)), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GenerationRequest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise InvalidRequest(f"The request file is not valid JSON: {e}") from e
        try:
            return _decode_request(data)
        except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as e:
            raise InvalidRequest(
                "The request file is not a generation request this version understands "
                f"({type(e).__name__}: {e}). Save it again from the plugin."
            ) from e


def _validate_regions(request: GenerationRequest) -> None:
    if not request.regions:
        return
    if request.edit:
        raise InvalidRequest(
            "Regions are not used in Edit mode (an edit model follows one instruction for "
            "the whole image). Turn Edit off, or remove the regions."
        )
    if request.mode is Mode.upscale:
        raise InvalidRequest("Regions are not used when upscaling: remove them, or generate.")
    if len(request.regions) > MAX_REGIONS:
        raise InvalidRequest(
            f"At most {MAX_REGIONS} regions are used at once (got {len(request.regions)})."
        )
    size = request.image.extent if request.image is not None else request.extent
    for i, region in enumerate(request.regions, 1):
        if not region.prompt.strip():
            raise InvalidRequest(f"Region {i} has no prompt: write one, or remove the region.")
        if region.mask.extent != size:
            raise InvalidRequest(
                f"Region {i}'s mask is {region.mask.width}×{region.mask.height} but the image "
                f"is {size.width}×{size.height}; they must be the same size."
            )


def _validate_upscale(up: UpscaleRef, request: GenerationRequest) -> None:
    low, high = UPSCALE_FACTORS
    if up.factor is not None and not low <= up.factor <= high:
        raise InvalidRequest(f"Upscale by ×{low:g} to ×{high:g} (got ×{up.factor:g}).")
    if up.refine == 0:
        return
    low, high = REFINE_STRENGTHS
    if not low <= up.refine <= high:
        raise InvalidRequest(
            f"The refine strength must be between {low:.0%} and {high:.0%} "
            f"(got {up.refine:.0%}), or turn the refine off."
        )
    if not request.checkpoint:
        raise InvalidRequest("Refining the upscaled image needs a model: choose one.")
    if request.image is None:
        raise InvalidRequest("Upscaling needs the image to upscale.")
    size = up.size_for(request.image.extent) or request.image.extent
    if min(size.width, size.height) < 64:
        raise InvalidRequest(
            f"The upscaled image ({size.width}×{size.height}) is too small to refine: "
            "it needs at least 64 pixels on each side."
        )
    if up.tile_size is not None and not 64 <= up.tile_size <= 4096:
        raise InvalidRequest(f"Tiles must be 64 to 4096 pixels wide (got {up.tile_size}).")
    if not 0 <= up.tile_overlap <= 512:
        raise InvalidRequest(f"The tiles' overlap must be 0 to 512 pixels (got {up.tile_overlap}).")
    if request.sampling.batch_size != 1:
        raise InvalidRequest("Upscaling makes one image at a time: set the batch to 1.")


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"png_base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _image(data: dict[str, Any] | None) -> Image | None:
    if data is None:
        return None
    png = base64.b64decode(data["data"]["png_base64"], validate=True)
    return Image(png, int(data["width"]), int(data["height"]))


def _decode_request(d: dict[str, Any]) -> GenerationRequest:
    def opt(cls: Any, value: Any) -> Any:
        return None if value is None else cls(**value)

    controls = []
    for c in d.get("controls", []):
        image = _image(c["image"])
        assert image is not None
        controls.append(
            ControlLayer(
                model=c["model"],
                image=image,
                strength=c["strength"],
                start=c["start"],
                end=c["end"],
                preprocess=Preprocess(c["preprocess"]),
            )
        )
    upscale = d.get("upscale")
    return GenerationRequest(
        checkpoint=d.get("checkpoint", ""),
        prompt=d.get("prompt", ""),
        negative_prompt=d.get("negative_prompt", ""),
        extent=Extent(**d["extent"]),
        sampling=Sampling(**d["sampling"]),
        vae=d.get("vae"),
        family=d.get("family"),
        loras=tuple(LoraRef(**lora) for lora in d.get("loras", [])),
        image=_image(d.get("image")),
        strength=d.get("strength", 1.0),
        mask=_image(d.get("mask")),
        controls=tuple(controls),
        upscale=None
        if upscale is None
        else UpscaleRef(**{**upscale, "extent": opt(Extent, upscale.get("extent"))}),
        region=opt(Bounds, d.get("region")),
        kind=None if d.get("kind") is None else ModelKind(d["kind"]),
        text_encoders=tuple(d.get("text_encoders", ())),
        guidance=d.get("guidance"),
        edit=bool(d.get("edit", False)),
        references=tuple(_image(r) for r in d.get("references", ())),  # type: ignore[misc]
        resolution=Resolution(**d.get("resolution", {})),  # older files: the default
        streamed=bool(d.get("streamed", False)),
        regions=tuple(_region(r) for r in d.get("regions", ())),
    )


def _region(d: dict[str, Any]) -> RegionPrompt:
    mask = _image(d["mask"])
    assert mask is not None
    return RegionPrompt(str(d["prompt"]), mask)
