"""What the official RunPod ComfyUI worker images bake in, since the worker has no model list.

Read from runpod-workers/worker-comfyui's Dockerfile (targets in release.yml, v5.x); not checked
against the published Docker Hub tags. A painter's own image or a network volume is described
by the model list in the connection settings instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..comfy.models import ServerModels

WORKER_REPOSITORY = "runpod/worker-comfyui"
WORKER_VERSION = "5.8.5"

# Folders the worker reads from a network volume (/runpod-volume/models/<folder>), from its
# extra_model_paths.yaml. Models in any other folder are only found when baked into the image.
VOLUME_FOLDERS = (
    "checkpoints", "clip", "clip_vision", "configs", "controlnet", "embeddings", "loras",
    "upscale_models", "vae", "unet",
)  # fmt: skip
SPLIT_FILE_NOTE = (
    "The worker does not read text_encoders or diffusion_models folders from a network volume: "
    "put split-file models (Flux, Z-Image, SD3.5 parts) into unet and clip, or bake them into "
    "your own image."
)


@dataclass(frozen=True)
class WorkerImage:
    target: str
    checkpoints: tuple[str, ...] = ()
    diffusion_models: tuple[str, ...] = ()  # unet / diffusion_models files
    vaes: tuple[str, ...] = ()
    text_encoders: tuple[str, ...] = ()  # clip / text_encoders files
    vram_gb: int = 0  # the deployment guide's minimum

    @property
    def image(self) -> str:
        return f"{WORKER_REPOSITORY}:{WORKER_VERSION}-{self.target}"

    def models(self) -> ServerModels:
        return ServerModels(
            checkpoints=list(self.checkpoints),
            diffusion_models=list(self.diffusion_models),
            vaes=list(self.vaes),
        )


_FLUX_PARTS = ("clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors")
WORKER_IMAGES: dict[str, WorkerImage] = {
    i.target: i
    for i in (
        WorkerImage("base"),
        WorkerImage(
            "sdxl",
            checkpoints=("sd_xl_base_1.0.safetensors",),
            vaes=("sdxl_vae.safetensors", "sdxl-vae-fp16-fix.safetensors"),
            vram_gb=8,
        ),
        WorkerImage("sd3", checkpoints=("sd3_medium_incl_clips_t5xxlfp8.safetensors",), vram_gb=5),
        WorkerImage(
            "flux1-schnell",
            diffusion_models=("flux1-schnell.safetensors",),
            vaes=("ae.safetensors",),
            text_encoders=_FLUX_PARTS,
            vram_gb=24,
        ),
        WorkerImage(
            "flux1-dev",
            diffusion_models=("flux1-dev.safetensors",),
            vaes=("ae.safetensors",),
            text_encoders=_FLUX_PARTS,
            vram_gb=24,
        ),
        WorkerImage("flux1-dev-fp8", checkpoints=("flux1-dev-fp8.safetensors",), vram_gb=24),
        WorkerImage(
            "z-image-turbo",
            diffusion_models=("z_image_turbo_bf16.safetensors",),
            vaes=("ae.safetensors",),
            text_encoders=("qwen_3_4b.safetensors",),
            vram_gb=24,
        ),
    )
}


def worker_image(image: str) -> WorkerImage | None:
    """The table entry for an image name such as ``runpod/worker-comfyui:5.8.5-sdxl`` or just
    ``sdxl``; None for images this table does not know (custom ones)."""
    tag = image.rsplit(":", 1)[-1].strip()
    if image.strip() in WORKER_IMAGES:
        return WORKER_IMAGES[image.strip()]
    if ":" not in image or not image.split(":")[0].endswith(WORKER_REPOSITORY):
        return None
    for target in sorted(WORKER_IMAGES, key=len, reverse=True):
        if tag.endswith("-" + target):
            return WORKER_IMAGES[target]
    return None


def models_source(image: str, own_models: tuple[str, ...]) -> tuple[ServerModels, str]:
    """The models a worker offers and, for the docker, where that list comes from."""
    if own_models:
        return ServerModels(checkpoints=list(own_models)), "your model list in the settings"
    entry = worker_image(image) if image else None
    if entry is not None:
        return entry.models(), f"the contents of the official image {entry.image}"
    return ServerModels(), (
        "nothing: this worker cannot list its models. Enter the models of your image or "
        "network volume in the connection settings"
    )
