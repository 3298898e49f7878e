"""From a request to a ComfyUI API graph, with core nodes only.

Reads like the graph: load the model, apply LoRAs, encode prompts, apply ControlNets, prepare
the latent (empty, encoded image, or masked), sample, decode, scale back, composite the inpaint
region with a soft edge, save.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from ..request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    InvalidRequest,
    Mode,
    Preprocess,
)
from .families import family_of
from .geometry import sampling_extent
from .graph import Graph, Output
from .loras import extract_loras, resolve_lora
from .object_info import ObjectInfo, choices
from .validate import validate_graph, validate_structure

OUTPUT_PREFIX = "ai_diffusion"
SCALE_METHOD = "lanczos"
# Inpaint mask handling, in pixels of the crop.
MASK_GROW = 8
MASK_FEATHER = 15  # ImageBlur radius (max 31)


@dataclass
class Workflow:
    """An API graph plus the input files it loads (uploaded by the client first)."""

    graph: dict[str, dict]
    inputs: dict[str, bytes] = field(default_factory=dict)
    output_node: str = ""
    extent: Extent = Extent(0, 0)
    mode: Mode = Mode.txt2img


def input_name(data: bytes) -> str:
    """Server-side file name for an input image: its content hash, so uploads deduplicate."""
    return f"aid-{hashlib.sha256(data).hexdigest()[:20]}.png"


@dataclass
class _Model:
    model: Output
    clip: Output
    vae: Output


class _Builder:
    def __init__(self, request: GenerationRequest, object_info: ObjectInfo | None) -> None:
        self.r = request
        self.info = object_info
        self.g = Graph()
        self.inputs: dict[str, bytes] = {}

    # Loading ------------------------------------------------------------------------------

    def check_choice(self, class_type: str, name: str, value: str, what: str) -> str:
        if self.info is None:
            return value
        options = choices(self.info, class_type, name)
        if class_type not in self.info:
            raise InvalidRequest(
                f"The server has no '{class_type}' node, which {what} needs. Update ComfyUI."
            )
        if value not in options:
            listed = ", ".join(options[:10]) or "none"
            raise InvalidRequest(
                f"The server has no {what} named '{value}'. Available: {listed}. "
                "Pick one of those, or copy the file into the server's models folder and Refresh."
            )
        return value

    def load_checkpoint(self) -> _Model:
        name = self.check_choice(
            "CheckpointLoaderSimple", "ckpt_name", self.r.checkpoint, "model (checkpoint)"
        )
        model, clip, vae = self.g.add(
            "CheckpointLoaderSimple", ("MODEL", "CLIP", "VAE"), ckpt_name=name
        )
        if self.r.vae:
            vae_name = self.check_choice("VAELoader", "vae_name", self.r.vae, "VAE")
            vae = self.g.add1("VAELoader", "VAE", vae_name=vae_name)
        return _Model(model, clip, vae)

    def apply_loras(self, m: _Model, prompt: str) -> tuple[_Model, str]:
        text, tagged = extract_loras(prompt)
        available = choices(self.info, "LoraLoader", "lora_name") if self.info else []
        for lora in (*self.r.loras, *tagged):
            name = resolve_lora(lora.name, available) if self.info is not None else lora.name
            model, clip = self.g.add(
                "LoraLoader",
                ("MODEL", "CLIP"),
                model=m.model,
                clip=m.clip,
                lora_name=name,
                strength_model=lora.strength,
                strength_clip=lora.strength,
            )
            m = _Model(model, clip, m.vae)
        return m, text

    def encode_prompt(self, clip: Output, text: str) -> Output:
        return self.g.add1("CLIPTextEncode", "CONDITIONING", text=text, clip=clip)

    def load_image(self, image: Image) -> Output:
        name = input_name(image.data)
        self.inputs[name] = image.data
        return self.g.add("LoadImage", ("IMAGE", "MASK"), image=name)[0]

    def load_mask(self, mask: Image) -> Output:
        name = input_name(mask.data)
        self.inputs[name] = mask.data
        return self.g.add1("LoadImageMask", "MASK", image=name, channel="red")

    # Images and masks -----------------------------------------------------------------------

    def scale(self, image: Output, extent: Extent) -> Output:
        return self.g.add1(
            "ImageScale",
            "IMAGE",
            image=image,
            upscale_method=SCALE_METHOD,
            width=extent.width,
            height=extent.height,
            crop="disabled",
        )

    def scale_mask(self, mask: Output, extent: Extent) -> Output:
        as_image = self.g.add1("MaskToImage", "IMAGE", mask=mask)
        scaled = self.g.add1(
            "ImageScale", "IMAGE", image=as_image, upscale_method="bilinear",
            width=extent.width, height=extent.height, crop="disabled",
        )  # fmt: skip
        return self.g.add1("ImageToMask", "MASK", image=scaled, channel="red")

    def soften_mask(self, mask: Output, extent: Extent) -> Output:
        grown = self.g.add1("GrowMask", "MASK", mask=mask, expand=MASK_GROW, tapered_corners=True)
        # ImageBlur pads with torch's reflect padding, which needs a radius below each side:
        # a tiny image gets a smaller feather (and none below 2 px) instead of a server error.
        radius = min(MASK_FEATHER, extent.width - 1, extent.height - 1)
        if radius < 1:
            return grown
        as_image = self.g.add1("MaskToImage", "IMAGE", mask=grown)
        blurred = self.g.add1("ImageBlur", "IMAGE", image=as_image, blur_radius=radius, sigma=5.0)
        return self.g.add1("ImageToMask", "MASK", image=blurred, channel="red")

    # ControlNet ----------------------------------------------------------------------------

    def apply_controls(
        self, positive: Output, negative: Output, vae: Output
    ) -> tuple[Output, Output]:
        for control in self.r.controls:
            positive, negative = self.apply_control(control, positive, negative, vae)
        return positive, negative

    def apply_control(
        self, c: ControlLayer, positive: Output, negative: Output, vae: Output
    ) -> tuple[Output, Output]:
        model_name = self.check_choice(
            "ControlNetLoader", "control_net_name", c.model, "ControlNet model"
        )
        control_net = self.g.add1("ControlNetLoader", "CONTROL_NET", control_net_name=model_name)
        image = self.load_image(c.image)
        if c.preprocess is Preprocess.canny:
            image = self.g.add1(
                "Canny", "IMAGE", image=image, low_threshold=0.4, high_threshold=0.8
            )
        positive, negative = self.g.add(
            "ControlNetApplyAdvanced",
            ("CONDITIONING", "CONDITIONING"),
            positive=positive,
            negative=negative,
            control_net=control_net,
            image=image,
            strength=c.strength,
            start_percent=c.start,
            end_percent=c.end,
            vae=vae,
        )
        return positive, negative

    # Sampling -----------------------------------------------------------------------------

    def sample(
        self, m: _Model, positive: Output, negative: Output, latent: Output, denoise: float
    ) -> Output:
        s = self.r.sampling
        sampler = self.check_choice("KSampler", "sampler_name", s.sampler, "sampler")
        scheduler = self.check_choice("KSampler", "scheduler", s.scheduler, "scheduler")
        return self.g.add1(
            "KSampler",
            "LATENT",
            model=m.model,
            seed=s.seed,
            steps=s.steps,
            cfg=float(s.cfg),
            sampler_name=sampler,
            scheduler=scheduler,
            positive=positive,
            negative=negative,
            latent_image=latent,
            denoise=float(denoise),
        )

    def batch_latent(self, latent: Output) -> Output:
        amount = self.r.sampling.batch_size
        if amount == 1:
            return latent
        return self.g.add1("RepeatLatentBatch", "LATENT", samples=latent, amount=amount)

    def upscale(self, image: Output) -> Output:
        up = self.r.upscale
        if up is None:
            return image
        name = self.check_choice("UpscaleModelLoader", "model_name", up.model, "upscale model")
        loader = self.g.add1("UpscaleModelLoader", "UPSCALE_MODEL", model_name=name)
        image = self.g.add1("ImageUpscaleWithModel", "IMAGE", upscale_model=loader, image=image)
        return self.scale(image, up.extent) if up.extent else image

    def save(self, image: Output) -> str:
        return self.g.node("SaveImage", images=image, filename_prefix=OUTPUT_PREFIX)

    # Modes --------------------------------------------------------------------------------

    def build(self) -> Workflow:
        r = self.r
        mode = r.mode
        if mode is Mode.upscale:
            assert r.image is not None
            image = self.upscale(self.load_image(r.image))
            return self.finish(self.save(image), mode)

        family = family_of(r.checkpoint, r.family)
        m = self.load_checkpoint()
        m, prompt = self.apply_loras(m, r.prompt)
        negative_text, _ = extract_loras(r.negative_prompt)
        positive = self.encode_prompt(m.clip, prompt)
        negative = self.encode_prompt(m.clip, negative_text)
        positive, negative = self.apply_controls(positive, negative, m.vae)

        target = r.image.extent if r.image is not None else r.extent
        size = sampling_extent(target, family.native)

        if mode is Mode.txt2img:
            latent = self.g.add1(
                "EmptyLatentImage", "LATENT", width=size.width, height=size.height,
                batch_size=r.sampling.batch_size,
            )  # fmt: skip
            result = self.decode_to(
                self.sample(m, positive, negative, latent, 1.0), m, size, target
            )
        elif mode is Mode.img2img:
            assert r.image is not None
            pixels = self.to_size(self.load_image(r.image), target, size)
            latent = self.batch_latent(self.g.add1("VAEEncode", "LATENT", pixels=pixels, vae=m.vae))
            sampled = self.sample(m, positive, negative, latent, r.strength)
            result = self.decode_to(sampled, m, size, target)
        else:
            result = self.inpaint(m, positive, negative, size, target)
        return self.finish(self.save(self.upscale(result)), mode)

    def to_size(self, image: Output, current: Extent, wanted: Extent) -> Output:
        return image if current == wanted else self.scale(image, wanted)

    def decode_to(self, latent: Output, m: _Model, size: Extent, target: Extent) -> Output:
        image = self.g.add1("VAEDecode", "IMAGE", samples=latent, vae=m.vae)
        return self.to_size(image, size, target)

    def inpaint(
        self, m: _Model, positive: Output, negative: Output, size: Extent, target: Extent
    ) -> Output:
        r = self.r
        assert r.image is not None and r.mask is not None
        original = self.load_image(r.image)
        soft = self.soften_mask(self.load_mask(r.mask), target)
        pixels = self.to_size(original, target, size)
        mask_small = soft if size == target else self.scale_mask(soft, size)
        if r.strength >= 1.0:
            latent = self.g.add1(
                "VAEEncodeForInpaint",
                "LATENT",
                pixels=pixels,
                vae=m.vae,
                mask=mask_small,
                grow_mask_by=6,
            )
        else:
            encoded = self.g.add1("VAEEncode", "LATENT", pixels=pixels, vae=m.vae)
            latent = self.g.add1("SetLatentNoiseMask", "LATENT", samples=encoded, mask=mask_small)
        latent = self.batch_latent(latent)
        generated = self.decode_to(
            self.sample(m, positive, negative, latent, r.strength), m, size, target
        )
        # The result is the generated pixels with the soft mask as alpha. Whoever pastes it
        # (the Krita layer, the CLI) alpha-composites it onto the original, which blends
        # generated·m + original·(1−m) exactly once; outside the mask alpha is 0 and the
        # original stays untouched to the last bit. (Blending here as well would give the
        # feather band mask² instead of mask.) JoinImageWithAlpha stores 1 − mask as alpha:
        # give it the inverted mask, as many as the batch (it keeps the smaller batch).
        alpha = self.g.add1("InvertMask", "MASK", mask=soft)
        batch = r.sampling.batch_size
        if batch > 1:
            alpha_image = self.repeat_image(self.g.add1("MaskToImage", "IMAGE", mask=alpha), batch)
            alpha = self.g.add1("ImageToMask", "MASK", image=alpha_image, channel="red")
        return self.g.add1("JoinImageWithAlpha", "IMAGE", image=generated, alpha=alpha)

    def repeat_image(self, image: Output, amount: int) -> Output:
        if amount == 1:
            return image
        return self.g.add1("RepeatImageBatch", "IMAGE", image=image, amount=amount)

    def finish(self, output_node: str, mode: Mode) -> Workflow:
        r = self.r
        if r.upscale is not None and r.upscale.extent is not None:
            extent = r.upscale.extent
        else:
            extent = r.image.extent if r.image is not None else r.extent
        graph = self.g.to_api()
        if self.info is not None:
            validate_graph(graph, self.info, uploaded=self.inputs)
        else:
            validate_structure(graph)
        return Workflow(graph, dict(self.inputs), output_node, extent, mode)


def build_workflow(request: GenerationRequest, object_info: ObjectInfo | None = None) -> Workflow:
    """The API graph for ``request``. With ``object_info`` (the server's), model names, samplers
    and LoRAs are checked against what the server has, and the graph is validated."""
    request.validate()
    if request.mode is Mode.inpaint and request.image is not None:
        request = replace(request, extent=request.image.extent)
    return _Builder(request, object_info).build()
