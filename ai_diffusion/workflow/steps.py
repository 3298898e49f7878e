"""The builder's steps, named by intent: load the model (checkpoint or split files), patch its
sampling, apply LoRAs, encode prompts, load images and masks, apply ControlNets, sample.

Which nodes each step uses comes from the model's family (``families.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    InvalidRequest,
    ModelKind,
    Preprocess,
)
from .discovery import Pieces
from .families import Family
from .graph import Graph, Output
from .loras import extract_loras, resolve_lora
from .object_info import ObjectInfo, choices

SCALE_METHOD = "lanczos"
# Inpaint mask handling, in pixels of the crop.
MASK_GROW = 8
MASK_FEATHER = 15  # ImageBlur radius (max 31)


def input_name(data: bytes) -> str:
    """Server-side file name for an input image: its content hash, so uploads deduplicate."""
    return f"aid-{hashlib.sha256(data).hexdigest()[:20]}.png"


@dataclass
class Model:
    model: Output
    clip: Output
    vae: Output


class Steps:
    def __init__(
        self,
        request: GenerationRequest,
        object_info: ObjectInfo | None,
        family: Family,
        pieces: Pieces | None,
    ) -> None:
        self.r = request
        self.info = object_info
        self.family = family
        self.pieces = pieces
        self.g = Graph()
        self.inputs: dict[str, bytes] = {}

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

    # Loading ------------------------------------------------------------------------------

    def load_model(self) -> Model:
        p = self.pieces
        assert p is not None
        if p.kind is ModelKind.checkpoint:
            name = self.check_choice(
                "CheckpointLoaderSimple", "ckpt_name", p.model, "model (checkpoint)"
            )
            model, clip, vae = self.g.add(
                "CheckpointLoaderSimple", ("MODEL", "CLIP", "VAE"), ckpt_name=name
            )
            if p.text_encoders:
                clip = self.load_text_encoders(p.text_encoders)
        else:
            name = self.check_choice("UNETLoader", "unet_name", p.model, "diffusion model")
            model = self.g.add1("UNETLoader", "MODEL", unet_name=name, weight_dtype="default")
            clip = self.load_text_encoders(p.text_encoders)
        vae_name = self.r.vae or p.vae
        if vae_name:
            vae_name = self.check_choice("VAELoader", "vae_name", vae_name, "VAE")
            vae = self.g.add1("VAELoader", "VAE", vae_name=vae_name)
        elif p.kind is ModelKind.split:
            raise InvalidRequest(
                f"'{p.model}' needs a VAE: choose one under Advanced, or copy it into models/vae."
            )
        if self.family.model_sampling:
            patch, shift = self.family.model_sampling
            model = self.g.add1(patch, "MODEL", model=model, shift=shift)
        return Model(model, clip, vae)

    def load_text_encoders(self, names: tuple[str, ...]) -> Output:
        f = self.family
        wanted = len(f.text_encoders)
        if wanted and len(names) != wanted:
            listed = ", ".join(p.label for p in f.text_encoders)
            raise InvalidRequest(
                f"{f.title} needs {wanted} text encoder{'s' if wanted > 1 else ''} ({listed}); "
                f"{len(names)} chosen. Choose them under Advanced (or with --text-encoder)."
            )
        checked = [self.check_choice("CLIPLoader", "clip_name", n, "text encoder") for n in names]
        if len(checked) == 1:
            return self.g.add1("CLIPLoader", "CLIP", clip_name=checked[0], type=f.clip_type)
        if len(checked) == 2:
            return self.g.add1(
                "DualCLIPLoader", "CLIP", clip_name1=checked[0], clip_name2=checked[1],
                type=f.clip_type,
            )  # fmt: skip
        if len(checked) == 3:
            return self.g.add1(
                "TripleCLIPLoader", "CLIP", clip_name1=checked[0], clip_name2=checked[1],
                clip_name3=checked[2],
            )  # fmt: skip
        if len(checked) == 4:
            return self.g.add1(
                "QuadrupleCLIPLoader", "CLIP", clip_name1=checked[0], clip_name2=checked[1],
                clip_name3=checked[2], clip_name4=checked[3],
            )  # fmt: skip
        raise InvalidRequest(
            f"{f.title}: choose between one and four text encoders (got {len(checked)})."
        )

    def apply_loras(self, m: Model, prompt: str) -> tuple[Model, str]:
        text, tagged = extract_loras(prompt)
        available = choices(self.info, "LoraLoader", "lora_name") if self.info else []
        for lora in (*self.r.loras, *tagged):
            name = resolve_lora(lora.name, available) if self.info is not None else lora.name
            if self.family.lora_clip:
                model, clip = self.g.add(
                    "LoraLoader", ("MODEL", "CLIP"), model=m.model, clip=m.clip, lora_name=name,
                    strength_model=lora.strength, strength_clip=lora.strength,
                )  # fmt: skip
                m = Model(model, clip, m.vae)
            else:
                model = self.g.add1(
                    "LoraLoaderModelOnly", "MODEL", model=m.model, lora_name=name,
                    strength_model=lora.strength,
                )  # fmt: skip
                m = Model(model, m.clip, m.vae)
        return m, text

    # Prompts ------------------------------------------------------------------------------

    def encode_prompt(self, clip: Output, text: str) -> Output:
        return self.g.add1("CLIPTextEncode", "CONDITIONING", text=text, clip=clip)

    def negative_for(self, clip: Output, positive: Output, text: str) -> Output:
        """The negative conditioning: the prompt, or zeroed for distilled cfg-1 models."""
        if self.family.negative:
            return self.encode_prompt(clip, text)
        return self.g.add1("ConditioningZeroOut", "CONDITIONING", conditioning=positive)

    def guide(self, positive: Output) -> Output:
        """FluxGuidance for guidance-distilled models (the painter's value or the family's)."""
        default = self.family.guidance
        if default is None:
            return positive
        value = self.r.guidance if self.r.guidance is not None else default
        return self.g.add1(
            "FluxGuidance", "CONDITIONING", conditioning=positive, guidance=float(value)
        )

    # Images and masks -----------------------------------------------------------------------

    def load_image(self, image: Image) -> Output:
        name = input_name(image.data)
        self.inputs[name] = image.data
        return self.g.add("LoadImage", ("IMAGE", "MASK"), image=name)[0]

    def load_mask(self, mask: Image) -> Output:
        name = input_name(mask.data)
        self.inputs[name] = mask.data
        return self.g.add1("LoadImageMask", "MASK", image=name, channel="red")

    def scale(self, image: Output, extent: Extent) -> Output:
        return self.g.add1(
            "ImageScale", "IMAGE", image=image, upscale_method=SCALE_METHOD,
            width=extent.width, height=extent.height, crop="disabled",
        )  # fmt: skip

    def to_size(self, image: Output, current: Extent, wanted: Extent) -> Output:
        return image if current == wanted else self.scale(image, wanted)

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

    def repeat_image(self, image: Output, amount: int) -> Output:
        if amount == 1:
            return image
        return self.g.add1("RepeatImageBatch", "IMAGE", image=image, amount=amount)

    # ControlNet ----------------------------------------------------------------------------

    def apply_model_patches(self, m: Model, size: Extent) -> Model:
        """ControlNets that are model patches (Z-Image's): each patch loaded from
        models/model_patches and applied to the model with its control image, scaled to the
        sampling size. Their start and end are not used: the patch acts on every step."""
        if not self.family.control_patch or not self.r.controls:
            return m
        model = m.model
        for c in self.r.controls:
            name = self.check_choice("ModelPatchLoader", "name", c.model, "ControlNet model patch")
            patch = self.g.add1("ModelPatchLoader", "MODEL_PATCH", name=name)
            image = self.control_image(c)
            image = self.g.add1(
                "ImageScale", "IMAGE", image=image, upscale_method="bilinear",
                width=size.width, height=size.height, crop="disabled",
            )  # fmt: skip
            model = self.g.add1(
                "QwenImageDiffsynthControlnet", "MODEL", model=model, model_patch=patch,
                vae=m.vae, image=image, strength=c.strength,
            )  # fmt: skip
        return Model(model, m.clip, m.vae)

    def control_image(self, c: ControlLayer) -> Output:
        image = self.load_image(c.image)
        if c.preprocess is Preprocess.canny:
            image = self.g.add1(
                "Canny", "IMAGE", image=image, low_threshold=0.4, high_threshold=0.8
            )
        return image

    def apply_controls(
        self, positive: Output, negative: Output, vae: Output
    ) -> tuple[Output, Output]:
        if self.family.control_patch:
            return positive, negative  # applied to the model (apply_model_patches)
        if self.r.controls and not self.family.controlnet:
            note = self.family.controlnet_note
            raise InvalidRequest(
                f"ControlNet is not available for {self.family.title} models"
                f"{': ' + note if note else ''}. Remove the ControlNet layers, or choose an "
                "SD1.5, SDXL or Flux.1 model."
            )
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
        image = self.control_image(c)
        positive, negative = self.g.add(
            "ControlNetApplyAdvanced", ("CONDITIONING", "CONDITIONING"), positive=positive,
            negative=negative, control_net=control_net, image=image, strength=c.strength,
            start_percent=c.start, end_percent=c.end, vae=vae,
        )  # fmt: skip
        return positive, negative

    # Sampling -----------------------------------------------------------------------------

    def empty_latent(self, size: Extent) -> Output:
        return self.g.add1(
            self.family.latent, "LATENT", width=size.width, height=size.height,
            batch_size=self.r.sampling.batch_size,
        )  # fmt: skip

    def batch_latent(self, latent: Output) -> Output:
        amount = self.r.sampling.batch_size
        if amount == 1:
            return latent
        return self.g.add1("RepeatLatentBatch", "LATENT", samples=latent, amount=amount)

    def sample(
        self,
        m: Model,
        positive: Output,
        negative: Output,
        latent: Output,
        denoise: float,
        size: Extent,
    ) -> Output:
        s = self.r.sampling
        if self.family.sigmas:
            return self.sample_custom(m, positive, negative, latent, denoise, size)
        sampler = self.check_choice("KSampler", "sampler_name", s.sampler, "sampler")
        scheduler = self.check_choice("KSampler", "scheduler", s.scheduler, "scheduler")
        return self.g.add1(
            "KSampler", "LATENT", model=m.model, seed=s.seed, steps=s.steps, cfg=float(s.cfg),
            sampler_name=sampler, scheduler=scheduler, positive=positive, negative=negative,
            latent_image=latent, denoise=float(denoise),
        )  # fmt: skip

    def sample_custom(
        self,
        m: Model,
        positive: Output,
        negative: Output,
        latent: Output,
        denoise: float,
        size: Extent,
    ) -> Output:
        """SamplerCustomAdvanced with the family's sigma node (Flux.2: Flux2Scheduler)."""
        s = self.r.sampling
        sampler_name = self.check_choice("KSamplerSelect", "sampler_name", s.sampler, "sampler")
        noise = self.g.add1("RandomNoise", "NOISE", noise_seed=s.seed)
        if s.cfg == 1.0:
            guider = self.g.add1("BasicGuider", "GUIDER", model=m.model, conditioning=positive)
        else:
            guider = self.g.add1(
                "CFGGuider", "GUIDER", model=m.model, positive=positive, negative=negative,
                cfg=float(s.cfg),
            )  # fmt: skip
        sampler = self.g.add1("KSamplerSelect", "SAMPLER", sampler_name=sampler_name)
        sigmas = self.g.add1(
            self.family.sigmas, "SIGMAS", steps=s.steps, width=size.width, height=size.height
        )
        if denoise < 1.0:
            sigmas = self.g.add(
                "SplitSigmasDenoise", ("SIGMAS", "SIGMAS"), sigmas=sigmas, denoise=float(denoise)
            )[1]
        return self.g.add(
            "SamplerCustomAdvanced", ("LATENT", "LATENT"), noise=noise, guider=guider,
            sampler=sampler, sigmas=sigmas, latent_image=latent,
        )[0]  # fmt: skip
