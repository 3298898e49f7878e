"""Server images the plugin knows how to start and talk to (data, one place)."""

from __future__ import annotations

from .models import ServerImage

IMAGES = {
    "krita": ServerImage(
        name="krita",
        image="aclysia/sd-comfyui-krita:v1.53.0",
        port=3001,
        models_path="/workspace/models",
        token_env=None,
        args="/start.sh --recommended",
        min_cuda="13.0",
        notes="ComfyUI with the standard model folders (checkpoints, loras, controlnet, vae, "
        "upscale_models, embeddings), nginx on port 3001 in front of ComfyUI. No auth proxy: "
        "the pod URL is open to anyone who learns it; terminate the pod when done.",
    ),
    "runpod-comfyui": ServerImage(
        name="runpod-comfyui",
        image="runpod/comfyui:latest",
        port=8188,
        models_path="/workspace/runpod-slim/ComfyUI/models",
        token_env=None,
        notes="RunPod's ComfyUI image; ComfyUI on port 8188, no auth.",
    ),
}
DEFAULT_IMAGE = IMAGES["krita"]
