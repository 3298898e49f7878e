"""A model loader that failed on the server: say which file, and where it lives."""

from __future__ import annotations

from typing import Any

# Loader node → (inputs naming files, models folder).
LOADERS: dict[str, tuple[tuple[str, ...], str]] = {
    "CheckpointLoaderSimple": (("ckpt_name",), "checkpoints"),
    "UNETLoader": (("unet_name",), "diffusion_models"),
    "CLIPLoader": (("clip_name",), "text_encoders"),
    "DualCLIPLoader": (("clip_name1", "clip_name2"), "text_encoders"),
    "TripleCLIPLoader": (("clip_name1", "clip_name2", "clip_name3"), "text_encoders"),
    "VAELoader": (("vae_name",), "vae"),
    "LoraLoader": (("lora_name",), "loras"),
    "LoraLoaderModelOnly": (("lora_name",), "loras"),
    "ControlNetLoader": (("control_net_name",), "controlnet"),
    "UpscaleModelLoader": (("model_name",), "upscale_models"),
}


def _first(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "")


def loader_failure(data: dict[str, Any]) -> str | None:
    """The painter's message for an ``execution_error`` of a model loader, or None."""
    known = LOADERS.get(str(data.get("node_type") or ""))
    if known is None:
        return None
    names, folder = known
    inputs = data.get("current_inputs") or {}
    files = [f for f in (_first(inputs.get(n)) for n in names) if f]
    if not files:
        return None
    which = " or ".join(f"'{f}'" for f in files)
    exception = str(data.get("exception_message") or "unknown error").strip().splitlines()[0]
    return (
        f"The server could not load {which} (models/{folder}): {exception}. The file is "
        "damaged, incomplete or not a model this ComfyUI can load: download it again on the "
        "server, or choose another model."
    )
