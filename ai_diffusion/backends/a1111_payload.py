"""From the request contract to the WebUI's ``txt2img`` / ``img2img`` / extras bodies
(https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API). Pure: no network, no images
decoded.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from ..request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    InvalidRequest,
    Mode,
    Preprocess,
    UpscaleRef,
)
from ..workflow.families import family_of
from ..workflow.geometry import sampling_extent
from ..workflow.loras import extract_loras
from .a1111_catalog import Catalog

# img2img inpainting_fill: what fills the masked area before sampling.
FILL_ORIGINAL = 1
FILL_LATENT_NOISE = 2


@dataclass
class Payload:
    route: str  # "/sdapi/v1/txt2img", "/sdapi/v1/img2img" or "/sdapi/v1/extra-single-image"
    body: dict[str, Any] = field(repr=False)
    batch_size: int = 1
    checkpoint_stem: str = ""  # info.sd_model_name the images must report ("" = not checked)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def lora_prompt(request: GenerationRequest, catalog: Catalog) -> str:
    """The prompt with every LoRA (the request's and the prompt's own tags) as a WebUI tag
    naming the WebUI's LoRA."""
    text, tagged = extract_loras(request.prompt)
    tags = [
        f"<lora:{catalog.lora(lora.name)}:{lora.strength:g}>" for lora in (*request.loras, *tagged)
    ]
    return " ".join([text, *tags]).strip()


def control_unit(control: ControlLayer, catalog: Catalog) -> dict[str, Any]:
    module = "canny" if control.preprocess is Preprocess.canny else "none"
    if catalog.controlnet_modules and module not in catalog.controlnet_modules:
        module = "none"
    return {
        "enabled": True,  # Mikubill's default is false
        "module": module,
        "model": catalog.controlnet(control.model),
        "image": b64(control.image.data),
        "weight": control.strength,
        "guidance_start": control.start,
        "guidance_end": control.end,
        "resize_mode": "Just Resize",
        "control_mode": "Balanced",
        "pixel_perfect": False,
        "save_detected_map": False,  # no detected maps among the results
    }


def upscale_body(image_png: bytes, upscaler: dict[str, Any], width: int, height: int) -> dict:
    """The extras route: upscale to the given size with the named upscaler."""
    return {
        "image": b64(image_png),
        "upscaler_1": str(upscaler.get("name")),
        "resize_mode": 1,  # to a size
        "upscaling_resize_w": width,
        "upscaling_resize_h": height,
        "upscaling_crop": False,
    }


def upscaled_size(up: UpscaleRef, source: Extent, upscaler: dict[str, Any]) -> Extent:
    """The size asked for (an extent, or the source × the factor), else the model's own."""
    size = up.size_for(source)
    if size is not None:
        return size
    scale = float(upscaler.get("scale") or 4)
    return Extent(round(source.width * scale), round(source.height * scale))


def build_payload(
    request: GenerationRequest, catalog: Catalog, soft_mask_png: bytes | None = None
) -> Payload:
    """The body for ``request``. Inpaint sends ``soft_mask_png`` (the feathered mask the
    result is later pasted under) as the mask; every name is checked against ``catalog``
    first, raising :class:`InvalidRequest` naming what the WebUI lacks."""
    request.validate()
    if request.regions:
        raise InvalidRequest(
            "Regions need a ComfyUI server: the WebUI has no prompts per part of the picture "
            "without extensions. Remove the regions, or connect to a ComfyUI server."
        )
    if request.upscale is not None and request.upscale.refine > 0:
        raise InvalidRequest(
            "The WebUI upscales without the tiled refine: turn Refine off, or connect to a "
            "ComfyUI server to refine in tiles."
        )
    mode = request.mode
    if mode is Mode.upscale:
        assert request.image is not None and request.upscale is not None
        upscaler = catalog.upscaler(request.upscale.model)
        size = upscaled_size(request.upscale, request.image.extent, upscaler)
        extras = upscale_body(request.image.data, upscaler, size.width, size.height)
        return Payload("/sdapi/v1/extra-single-image", extras)
    if request.upscale is not None:
        catalog.upscaler(request.upscale.model)  # checked now, applied to the results later

    checkpoint = catalog.checkpoint(request.checkpoint)
    s = request.sampling
    target = request.image.extent if request.image is not None else request.extent
    native = family_of(checkpoint.name, request.family).native
    size = sampling_extent(target, native, resolution=request.resolution)
    override: dict[str, Any] = {"sd_model_checkpoint": checkpoint.title}
    if request.vae:
        vae = catalog.vae(request.vae)
        if catalog.forge:
            override["forge_additional_modules"] = [vae]
        else:
            override["sd_vae"] = vae
    negative, _ = extract_loras(request.negative_prompt)
    body: dict[str, Any] = {
        "prompt": lora_prompt(request, catalog),
        "negative_prompt": negative,
        "seed": s.seed,
        "sampler_name": catalog.sampler(s.sampler),
        "steps": s.steps,
        "cfg_scale": float(s.cfg),
        "width": size.width,
        "height": size.height,
        "batch_size": s.batch_size,
        "n_iter": 1,
        "override_settings": override,
        "override_settings_restore_afterwards": True,
        "send_images": True,
        "save_images": True,  # a copy in the WebUI's outputs folder, should the answer be lost
    }
    scheduler = catalog.scheduler(s.scheduler)
    if scheduler:
        body["scheduler"] = scheduler
    if request.controls:
        units = [control_unit(c, catalog) for c in request.controls]
        body["alwayson_scripts"] = {"controlnet": {"args": units}}
    route = "/sdapi/v1/txt2img"
    if request.image is not None:
        route = "/sdapi/v1/img2img"
        body.update(
            init_images=[b64(request.image.data)],
            resize_mode=0,  # just resize to width × height
            denoising_strength=float(request.strength),
        )
    if mode is Mode.inpaint:
        assert request.mask is not None
        body.update(
            mask=b64(soft_mask_png or request.mask.data),
            mask_blur=0,  # the mask is already feathered
            inpainting_fill=FILL_LATENT_NOISE if request.strength >= 1.0 else FILL_ORIGINAL,
            inpaint_full_res=False,  # the crop is already the context: no second crop
            inpaint_full_res_padding=0,
            inpainting_mask_invert=0,  # white = repaint
        )
    return Payload(route, body, s.batch_size, checkpoint.stem)
