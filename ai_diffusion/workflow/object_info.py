"""Reading a ComfyUI ``/object_info`` document: input specs and option lists."""

from __future__ import annotations

from typing import Any

ObjectInfo = dict[str, Any]


def input_spec(object_info: ObjectInfo, class_type: str, name: str) -> list[Any] | None:
    node = object_info.get(class_type)
    if not isinstance(node, dict):
        return None
    inputs = node.get("input")
    if not isinstance(inputs, dict):
        return None
    for group in ("required", "optional"):
        specs = inputs.get(group)
        spec = specs.get(name) if isinstance(specs, dict) else None
        if spec is not None:
            return spec if isinstance(spec, list) else [spec]
    return None


def combo_options(spec: list[Any]) -> list[Any] | None:
    """The choices of a combo input, in either format ComfyUI uses, or None if not a combo."""
    kind = spec[0] if spec else None
    if isinstance(kind, list):
        return kind
    if kind == "COMBO":
        options = spec[1].get("options") if len(spec) > 1 and isinstance(spec[1], dict) else None
        return list(options) if isinstance(options, list) else []
    return None


def spec_options(spec: list[Any]) -> dict[str, Any]:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def choices(object_info: ObjectInfo, class_type: str, name: str) -> list[str]:
    """Option list of ``class_type.name`` (e.g. checkpoint names), or [] when unknown."""
    spec = input_spec(object_info, class_type, name)
    options = combo_options(spec) if spec else None
    return [str(o) for o in options] if options else []


# Where each kind of model file is listed in /object_info.
MODEL_LISTS = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "diffusion_models": ("UNETLoader", "unet_name"),
    "text_encoders": ("CLIPLoader", "clip_name"),  # models/text_encoders and models/clip
    "vaes": ("VAELoader", "vae_name"),
    "loras": ("LoraLoader", "lora_name"),
    "controlnets": ("ControlNetLoader", "control_net_name"),
    "model_patches": ("ModelPatchLoader", "name"),  # Z-Image's ControlNets
    "upscalers": ("UpscaleModelLoader", "model_name"),
    "samplers": ("KSampler", "sampler_name"),
    "schedulers": ("KSampler", "scheduler"),
}


def model_lists(object_info: ObjectInfo) -> dict[str, list[str]]:
    return {key: choices(object_info, cls, name) for key, (cls, name) in MODEL_LISTS.items()}


def pick(options: list[str], preferred: str) -> str:
    """``preferred`` if the server lists it (or lists nothing, i.e. unknown), else its first."""
    return preferred if not options or preferred in options else options[0]
