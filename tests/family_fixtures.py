"""A captured /object_info with extra model files in its lists, as a server with those files
in its model folders would list them (the placeholders of shared/comfyui/tools/make_models.py
and the other real distribution names)."""

from __future__ import annotations

import copy
from typing import Any

from tests.comfy_fixtures import object_info

# Where ComfyUI lists each model folder's files (every loader that offers them).
LISTED_IN = {
    "checkpoints": [("CheckpointLoaderSimple", "ckpt_name")],
    "diffusion_models": [("UNETLoader", "unet_name")],
    "text_encoders": [
        ("CLIPLoader", "clip_name"),
        ("DualCLIPLoader", "clip_name1"),
        ("DualCLIPLoader", "clip_name2"),
        ("TripleCLIPLoader", "clip_name1"),
        ("TripleCLIPLoader", "clip_name2"),
        ("TripleCLIPLoader", "clip_name3"),
    ],
    "vae": [("VAELoader", "vae_name")],
    "loras": [("LoraLoader", "lora_name"), ("LoraLoaderModelOnly", "lora_name")],
    "controlnet": [("ControlNetLoader", "control_net_name")],
}

# The make_models.py --placeholders set, plus the other families' usual files.
PLACEHOLDERS = {
    "diffusion_models": [
        "flux1-dev.safetensors", "flux1-schnell.safetensors", "flux1-kontext-dev.safetensors",
        "qwen_image_fp8_e4m3fn.safetensors", "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        "z_image_turbo_bf16.safetensors", "Chroma1-HD.safetensors",
        "flux-2-klein-4b.safetensors",
    ],
    "text_encoders": [
        "clip_l.safetensors", "t5xxl_fp16.safetensors",
        "qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_3_4b.safetensors",
    ],
    "vae": ["ae.safetensors", "qwen_image_vae.safetensors"],
}  # fmt: skip
MORE = {
    "checkpoints": [
        "sd_xl_base_1.0.safetensors", "flux1-dev-fp8.safetensors",
        "sd3.5_large.safetensors", "sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors",
    ],
    "diffusion_models": [
        "flux2_dev_fp8mixed.safetensors", "qwen_image_edit_fp8_e4m3fn.safetensors",
        "mystery_model.safetensors",
    ],
    "text_encoders": ["clip_g.safetensors", "mistral_3_small_flux2_fp8.safetensors"],
    "vae": ["flux2-vae.safetensors"],
    "loras": ["flux-detailer.safetensors", "qwen-style.safetensors"],
    "controlnet": ["flux-union-controlnet.safetensors"],
}  # fmt: skip


def _options(spec: list[Any]) -> list[Any]:
    if isinstance(spec[0], list):
        return spec[0]
    return spec[1].setdefault("options", [])


def with_models(info: dict[str, Any], files: dict[str, list[str]]) -> dict[str, Any]:
    info = copy.deepcopy(info)
    for folder, names in files.items():
        for class_type, name in LISTED_IN[folder]:
            options = _options(info[class_type]["input"]["required"][name])
            options.extend(n for n in names if n not in options)
    return info


def add_family_models(info: dict[str, Any]) -> dict[str, Any]:
    merged = {k: PLACEHOLDERS.get(k, []) + MORE.get(k, []) for k in {*PLACEHOLDERS, *MORE}}
    return with_models(info, merged)


def family_object_info() -> dict[str, Any]:
    """The captured object_info with the placeholders and the other families' files."""
    return add_family_models(object_info())
