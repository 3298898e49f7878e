"""A recorded /object_info with extra model files in its lists, as a server with those files
in its model folders would list them: the families' usual distribution names (the ones
``scripts/placeholders.py`` writes as zero-byte files) and a few more."""

from __future__ import annotations

import copy
from typing import Any

from tests.comfy_fixtures import object_info
from tests.fakes.comfy_server import DEFAULT_VERSION

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
        ("QuadrupleCLIPLoader", "clip_name1"),
        ("QuadrupleCLIPLoader", "clip_name2"),
        ("QuadrupleCLIPLoader", "clip_name3"),
        ("QuadrupleCLIPLoader", "clip_name4"),
    ],
    "vae": [("VAELoader", "vae_name")],
    "loras": [("LoraLoader", "lora_name"), ("LoraLoaderModelOnly", "lora_name")],
    "controlnet": [("ControlNetLoader", "control_net_name")],
    "model_patches": [("ModelPatchLoader", "name")],
}

# The families' usual files (scripts/placeholders.py writes these names from the table).
PLACEHOLDERS = {
    "checkpoints": ["sd3.5_large.safetensors", "sd3.5_medium.safetensors"],
    "diffusion_models": [
        "flux1-dev.safetensors", "flux1-schnell.safetensors", "flux1-kontext-dev.safetensors",
        "flux2_dev_fp8mixed.safetensors", "flux-2-klein-4b.safetensors",
        "flux-2-klein-base-4b-fp8.safetensors", "flux-2-klein-9b.safetensors",
        "flux-2-klein-base-9b-fp8.safetensors",
        "qwen_image_fp8_e4m3fn.safetensors", "qwen_image_2512_fp8_e4m3fn.safetensors",
        "qwen_image_edit_fp8_e4m3fn.safetensors", "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        "qwen_image_edit_2511_bf16.safetensors",
        "z_image_turbo_bf16.safetensors", "z_image_bf16.safetensors",
        "anima-base-v1.0.safetensors", "krea2_bf16.safetensors",
        "ernie-image.safetensors", "ernie-image-turbo.safetensors",
        "hidream_i1_full_fp8.safetensors", "hidream_i1_dev_fp8.safetensors",
        "hidream_i1_fast_fp8.safetensors",
        "Chroma1-HD.safetensors", "Chroma1-Radiance-v0.4.safetensors",
    ],
    "text_encoders": [
        "clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors",
        "qwen_2.5_vl_7b_fp8_scaled.safetensors", "qwen_3_4b.safetensors",
        "qwen_3_8b.safetensors", "qwen_3_06b_base.safetensors", "qwen_3_vl_4b.safetensors",
        "mistral_3_small_flux2_fp8.safetensors", "ministral-3-3b.safetensors",
        "clip_l_hidream.safetensors", "clip_g_hidream.safetensors",
        "llama_3.1_8b_instruct_fp8_scaled.safetensors",
    ],
    "vae": ["ae.safetensors", "flux2-vae.safetensors", "qwen_image_vae.safetensors"],
}  # fmt: skip
MORE = {
    "checkpoints": [
        "sd_xl_base_1.0.safetensors", "flux1-dev-fp8.safetensors",
        "sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors",
    ],
    "diffusion_models": ["mystery_model.safetensors"],
    "loras": ["flux-detailer.safetensors", "qwen-style.safetensors"],
    "controlnet": ["flux-union-controlnet.safetensors"],
    "model_patches": ["Z-Image-Turbo-Fun-Controlnet-Union.safetensors"],
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


def family_object_info(version: str = DEFAULT_VERSION) -> dict[str, Any]:
    """A recorded object_info (0.33.0 unless told) with the families' files listed."""
    return add_family_models(object_info(version))
