"""Server images the plugin knows how to start and talk to (data, one place).

Facts come from each image's public sources; see docs/cloud-gpu.md for what is verified.
"""

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
        start="/start.sh --recommended",
        min_cuda="13.0",
        notes="ComfyUI with the custom nodes the plugin needs and the standard model folders "
        "(checkpoints, loras, controlnet, vae, upscale_models, embeddings); nginx on port 3001 "
        "in front of ComfyUI; recommended models are downloaded at first start. The plugin "
        "starts its pod gateway beside it (cloud/pod_start.py): only the gateway's port is "
        "exposed, and only the pod's token gets through.",
    ),
    "vast-comfyui": ServerImage(
        name="vast-comfyui",
        image="vastai/comfyui:latest",
        port=8188,
        models_path="/workspace/ComfyUI/models",
        token_env="OPEN_BUTTON_TOKEN",
        env={
            "PORTAL_CONFIG": "localhost:1111:11111:/:Instance Portal|localhost:8188:18188:/:ComfyUI",
            "COMFYUI_ARGS": "--disable-auto-launch --port 18188 --enable-cors-header",
            "OPEN_BUTTON_PORT": "1111",
        },
        notes="vast.ai's ComfyUI image: Caddy on port 8188 in front of ComfyUI (18188) asks for "
        "'Authorization: Bearer <OPEN_BUTTON_TOKEN>'. Plain ComfyUI without the plugin's custom "
        "nodes: install them with ComfyUI-Manager, or prefer the krita image.",
    ),
    "runpod-comfyui": ServerImage(
        name="runpod-comfyui",
        image="runpod/comfyui:latest",
        port=8188,
        models_path="/workspace/runpod-slim/ComfyUI/models",
        token_env=None,
        notes="RunPod's ComfyUI image; ComfyUI on port 8188, no auth. Plain ComfyUI without the "
        "plugin's custom nodes.",
    ),
}
DEFAULT_IMAGE = IMAGES["krita"]
