"""Command-line options that describe a generation, shared by ``workflow`` and ``generate``.

Images are read with Pillow (the CLI's own dependency, never used inside Krita).
"""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..request import (
    Bounds,
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    LoraRef,
    Preprocess,
    RegionPrompt,
    Resolution,
    Sampling,
    UpscaleRef,
)
from ..workflow import default_sampling, inpaint_region
from ..workflow.families import family_of


def add_request_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("generation")
    g.add_argument(
        "--model", "--checkpoint", dest="checkpoint", default="",
        help="model file on the server: a checkpoint, or a diffusion model (split files)",
    )  # fmt: skip
    g.add_argument(
        "--text-encoder", action="append", default=[], dest="text_encoders", metavar="NAME",
        help="text encoder file for a split model (repeatable; default: found by family rules)",
    )  # fmt: skip
    g.add_argument("--vae", default=None, help="VAE file (default: the checkpoint's, or found)")
    g.add_argument(
        "--arch", default=None,
        help="model family: sd15, sdxl, flux-dev, qwen-image, … (default: from the name)",
    )  # fmt: skip
    g.add_argument("--prompt", default="")
    g.add_argument("--negative", default="", help="negative prompt")
    g.add_argument("--width", type=int, default=None, help="default: the family's native size")
    g.add_argument("--height", type=int, default=None)
    g.add_argument(
        "--resolution", default="auto", metavar="auto|own|PERCENT",
        help="size to sample at, before the result is scaled to its size: auto (about the "
        "family's native size), own (the result's or input image's own size), or a percentage "
        "of the family's size, e.g. 150%%",
    )  # fmt: skip
    g.add_argument("--steps", type=int, default=None, help="default: the family's")
    g.add_argument("--cfg", type=float, default=None, help="default: the family's")
    g.add_argument("--guidance", type=float, default=None, help="Flux guidance")
    g.add_argument("--sampler", default=None, help="default: the family's")
    g.add_argument("--scheduler", default=None, help="default: the family's")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--batch", type=int, default=1)
    g.add_argument(
        "--edit", action="store_true",
        help="instruction edit of --image (in --mask if given) with an edit model",
    )  # fmt: skip
    g.add_argument(
        "--reference", action="append", default=[], type=Path, metavar="IMAGE",
        help="further image for edit models that take several (repeatable)",
    )  # fmt: skip
    g.add_argument("--image", type=Path, help="input image: img2img, or inpaint with --mask")
    g.add_argument("--strength", type=float, default=None, help="0-1; below 1 refines the input")
    g.add_argument(
        "--mask", type=Path, help="inpaint mask: white = repaint (or RGBA: transparent = repaint)"
    )
    g.add_argument("--lora", action="append", default=[], metavar="NAME[:STRENGTH]")
    g.add_argument(
        "--control", action="append", default=[], metavar="MODEL:IMAGE[:STRENGTH[:START:END]]"
    )
    g.add_argument("--control-preprocess", choices=[p.value for p in Preprocess], default="none")
    g.add_argument(
        "--upscale", default=None, metavar="MODEL",
        help="upscale the result (or --image alone) with this upscale model",
    )  # fmt: skip
    g.add_argument(
        "--upscale-factor", type=float, default=None, metavar="F",
        help="result size: the image's × F (1.5-4; default: the upscale model's own factor)",
    )  # fmt: skip
    g.add_argument(
        "--refine", type=float, default=None, metavar="STRENGTH",
        help="refine the upscaled --image with --model at this strength (0.05-1), in tiles",
    )  # fmt: skip
    g.add_argument(
        "--tile-size", type=int, default=None, metavar="PX",
        help="the refine's tile sides (default: the model family's native size)",
    )  # fmt: skip
    g.add_argument(
        "--tile-overlap", type=int, default=96, metavar="PX",
        help="pixels neighbouring tiles share, blended (default 96)",
    )  # fmt: skip
    g.add_argument(
        "--region",
        nargs=2,
        action="append",
        default=[],
        metavar=("MASK", "PROMPT"),
        help="a part of the picture with its own prompt: MASK is white (or opaque) there; "
        "repeat for more regions",
    )


def _read_image(path: Path) -> Any:
    from PIL import Image as PILImage

    try:
        return PILImage.open(path)
    except (OSError, ValueError) as e:
        raise UserError(
            f"Cannot read the image {path} ({e}). Check the path, and that it is an image file "
            "(PNG, JPEG, WebP…)."
        ) from e


def _png(image: Any) -> Image:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


def _mask_from(path: Path, size: tuple[int, int], transparent_is_masked: bool = True) -> Any:
    """White = repaint; an RGBA image's transparent pixels = repaint (a region's mask: its
    opaque pixels are the region, as a layer's painted pixels are in Krita)."""
    from PIL import ImageOps

    image = _read_image(path)
    if image.size != size:
        raise UserError(
            f"The mask is {image.size[0]}×{image.size[1]} but the image is {size[0]}×{size[1]}."
        )
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        alpha = image.convert("RGBA").getchannel("A")
        return ImageOps.invert(alpha) if transparent_is_masked else alpha
    return image.convert("L")


def _split_number(text: str, default: float) -> tuple[str, float]:
    name, _, value = text.rpartition(":")
    try:
        return (name, float(value)) if name else (text, default)
    except ValueError:
        return text, default


def _controls(args: argparse.Namespace) -> tuple[ControlLayer, ...]:
    result = []
    for spec in args.control:
        parts = spec.split(":")
        if len(parts) not in (2, 3, 5):
            raise UserError(f"--control '{spec}' should be MODEL:IMAGE[:STRENGTH[:START:END]].")
        try:
            numbers = [float(p) for p in parts[2:]]
        except ValueError:
            raise UserError(
                f"--control '{spec}': strength, start and end must be numbers, "
                "e.g. MODEL:IMAGE:0.8:0.1:0.9."
            ) from None
        strength = numbers[0] if numbers else 1.0
        start, end = (numbers[1], numbers[2]) if len(numbers) == 3 else (0.0, 1.0)
        image = _png(_read_image(Path(parts[1])).convert("RGB"))
        preprocess = Preprocess(args.control_preprocess)
        result.append(ControlLayer(parts[0], image, strength, start, end, preprocess))
    return tuple(result)


@dataclass
class CliRequest:
    """The request, plus what the CLI needs to write results of the input's size."""

    request: GenerationRequest
    original: Any = None  # the full input image (Pillow) for inpaint, to paste results into
    region: Bounds | None = None


def _sampling(args: argparse.Namespace) -> tuple[Sampling, Extent]:
    """The sampling options given, the model family's defaults for the others."""
    family = family_of(args.checkpoint, args.arch) if args.checkpoint else None
    d = default_sampling(args.checkpoint, None, args.arch) if family else Sampling()
    native = family.native if family else Extent(512, 512)
    sampling = Sampling(
        args.sampler or d.sampler, args.scheduler or d.scheduler,
        d.steps if args.steps is None else args.steps, d.cfg if args.cfg is None else args.cfg,
        args.seed, args.batch,
    )  # fmt: skip
    width = native.width if args.width is None else args.width
    height = native.height if args.height is None else args.height
    return sampling, Extent(width, height)


def _resolution(text: str) -> Resolution:
    value = text.strip().lower()
    if value == "auto":
        return Resolution()
    if value == "own":
        return Resolution(own_size=True)
    try:
        percent = float(value.removesuffix("%"))
    except ValueError:
        raise UserError(
            f"--resolution {text}: give auto, own, or a percentage of the model's size (150%)."
        ) from None
    return Resolution(percent / 100)


def _upscale(args: argparse.Namespace) -> UpscaleRef | None:
    if not args.upscale:
        if args.upscale_factor is not None or args.refine is not None:
            raise UserError("--upscale-factor and --refine need --upscale MODEL.")
        return None
    if args.refine is not None and (args.image is None or not args.checkpoint):
        raise UserError(
            "--refine refines an upscaled picture: give it with --image and --model (the "
            "model to refine with)."
        )
    return UpscaleRef(
        args.upscale,
        factor=args.upscale_factor,
        refine=args.refine or 0.0,
        tile_overlap=args.tile_overlap,
        tile_size=args.tile_size,
    )


def request_from_args(args: argparse.Namespace) -> CliRequest:
    sampling, extent = _sampling(args)
    loras = tuple(LoraRef(*_split_number(spec, 1.0)) for spec in args.lora)
    upscale = _upscale(args)
    base = dict(
        checkpoint=args.checkpoint, prompt=args.prompt, negative_prompt=args.negative,
        extent=extent, sampling=sampling, vae=args.vae, family=args.arch, loras=loras,
        controls=_controls(args), upscale=upscale, text_encoders=tuple(args.text_encoders),
        guidance=args.guidance, edit=args.edit, resolution=_resolution(args.resolution),
        references=tuple(_png(_read_image(p).convert("RGB")) for p in args.reference),
    )  # fmt: skip
    if args.reference and not args.edit:
        raise UserError("--reference is for edit models: add --edit (and --image).")
    if args.image is None:
        if args.mask is not None:
            raise UserError("--mask needs --image: the picture to inpaint.")
        if args.edit:
            raise UserError("--edit needs --image: the picture to edit.")
        base["regions"] = _regions(args, (extent.width, extent.height))
        return CliRequest(GenerationRequest(**base))  # type: ignore[arg-type]
    picture = _read_image(args.image).convert("RGB")
    base["regions"] = _regions(args, picture.size)
    if args.mask is None:
        default_strength = 1.0 if args.edit else 0.6
        strength = default_strength if args.strength is None else args.strength
        image = _png(picture)
        request = GenerationRequest(**base, image=image, strength=strength)  # type: ignore[arg-type]
        return CliRequest(request)
    mask = _png(_mask_from(args.mask, picture.size))
    strength = 1.0 if args.strength is None else args.strength
    full = GenerationRequest(**base, image=_png(picture), mask=mask, strength=strength)  # type: ignore[arg-type]
    request, region = crop_for_inpaint(full)
    return CliRequest(request, picture, region)


def _regions(args: argparse.Namespace, size: tuple[int, int]) -> tuple[RegionPrompt, ...]:
    """``--region MASK PROMPT``: masks of the picture's size (or the --width × --height)."""
    regions = []
    for path, prompt in args.region:
        try:
            mask = _mask_from(Path(path), size, transparent_is_masked=False)
        except UserError as e:
            raise UserError(f"--region {path}: {e.message}") from e
        regions.append(RegionPrompt(prompt, _png(mask)))
    return tuple(regions)


def crop_for_inpaint(
    request: GenerationRequest, padding: int | None = None
) -> tuple[GenerationRequest, Bounds]:
    """For a request holding the whole picture and its whole mask: the request for the
    context crop around the mask (see :func:`inpaint_region`), and where to paste the result."""
    from PIL import Image as PILImage

    if request.image is None or request.mask is None:
        raise UserError("Inpainting needs both an image and a mask.")
    picture = PILImage.open(io.BytesIO(request.image.data))
    mask = PILImage.open(io.BytesIO(request.mask.data)).convert("L")
    if mask.size != picture.size:
        raise UserError(
            f"The mask is {mask.width}×{mask.height} but the image is "
            f"{picture.width}×{picture.height}; they must be the same size."
        )
    box = mask.getbbox()
    if box is None:
        raise UserError("The mask is empty: paint white where the image should change.")
    canvas = Extent(*picture.size)
    selection = Bounds(box[0], box[1], box[2] - box[0], box[3] - box[1])
    region = inpaint_region(canvas, selection, padding)
    crop = (region.x, region.y, region.x + region.width, region.y + region.height)
    # Control images of the picture's size are cut the same way; others are left to ComfyUI
    # (which scales the hint to the sampling size).
    controls = tuple(
        replace(c, image=_png(PILImage.open(io.BytesIO(c.image.data)).crop(crop)))
        if (c.image.width, c.image.height) == picture.size
        else c
        for c in request.controls
    )
    # Only the regions that reach into the crop count (cut to it).
    cut = [replace(r, mask=_png(_open_mask(r.mask).crop(crop))) for r in request.regions]
    regions = tuple(r for r in cut if _open_mask(r.mask).getbbox() is not None)
    cropped = replace(
        request,
        controls=controls,
        regions=regions,
        image=_png(picture.crop(crop)),
        mask=_png(mask.crop(crop)),
        extent=region.extent,
        region=region,
    )
    return cropped, region


def _open_mask(image: Image) -> Any:
    from PIL import Image as PILImage

    return PILImage.open(io.BytesIO(image.data)).convert("L")


def paste_result(original: bytes | Any, result_png: bytes, region: Bounds) -> bytes:
    """PNG of ``original`` (PNG bytes or a Pillow image) with the RGBA result alpha-composited
    at ``region``: where the result is transparent (outside the mask) nothing changes."""
    from PIL import Image as PILImage

    if isinstance(original, (bytes, bytearray)):
        original = PILImage.open(io.BytesIO(original))
    result = PILImage.open(io.BytesIO(result_png)).convert("RGBA")
    if result.size != (region.width, region.height):
        result = result.resize((region.width, region.height), PILImage.Resampling.LANCZOS)
    canvas = original.convert("RGBA")
    canvas.alpha_composite(result, (region.x, region.y))
    buffer = io.BytesIO()
    canvas.convert(original.mode if original.mode in ("RGB", "RGBA") else "RGB").save(buffer, "PNG")
    return buffer.getvalue()


def pillow_scale(data: bytes, width: int, height: int) -> bytes:
    """A backend's result (PNG) at exactly ``width`` × ``height`` (see backends.png_scale)."""
    from PIL import Image as PILImage

    image = PILImage.open(io.BytesIO(data))
    if image.size == (width, height):
        return data
    buffer = io.BytesIO()
    image.resize((width, height), PILImage.Resampling.LANCZOS).save(buffer, "PNG")
    return buffer.getvalue()


def load_object_info(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"Cannot read the object_info file {path}: {e}") from e
