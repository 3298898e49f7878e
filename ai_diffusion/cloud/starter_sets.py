"""Starter sets: per model family, the few files a painter ticks when renting a pod, which the
pod's gateway downloads at its first start (``state/pods.py``; docs/cloud-gpu.md).

Data only. The links are public Hugging Face ``resolve/main`` addresses, mostly ComfyUI's own
repackagings (Comfy-Org) as its examples use them. They were written down from those
examples, not fetched from here (no internet in the tests): a link that has moved fails on the
pod with the gateway's words. ``size`` (bytes) and ``sha256`` are given only where known for
certain — the gateway checks them only when given — and are None otherwise; ``approx_gb`` is
what the painter is told before ticking (approximate).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

HF = "https://huggingface.co"


@dataclass(frozen=True)
class StarterModel:
    label: str
    url: str
    folder: str  # one of the gateway's folders (``cloud/gateway.py`` FOLDERS)
    size: int | None = None  # bytes, exactly; None = not known for certain
    sha256: str | None = None  # 64 hex digits; None = not known (never guessed)
    approx_gb: float = 0.0  # for the painter, before downloading

    @property
    def filename(self) -> str:
        return unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])


@dataclass(frozen=True)
class StarterSet:
    id: str  # the family's id (``workflow/family_table.py``)
    title: str
    models: tuple[StarterModel, ...]
    short: str = ""  # a few words for a narrow panel ("" = the title)

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.title)

    @property
    def approx_gb(self) -> float:
        return round(sum(m.approx_gb for m in self.models), 1)

    def label(self) -> str:
        return f"{self.title} (about {self.approx_gb:.0f} GB)"


_ZIMAGE = f"{HF}/Comfy-Org/z_image_turbo/resolve/main/split_files"
_QWEN = f"{HF}/Comfy-Org/Qwen-Image_ComfyUI/resolve/main/split_files"

STARTER_SETS: dict[str, StarterSet] = {
    s.id: s
    for s in (
        StarterSet(
            "sd15",
            "Stable Diffusion 1.5",
            short="SD 1.5",
            models=(
                StarterModel(
                    "SD1.5 (pruned, fp16)",
                    f"{HF}/Comfy-Org/stable-diffusion-v1-5-archive/resolve/main/"
                    "v1-5-pruned-emaonly-fp16.safetensors",
                    "checkpoints",
                    approx_gb=2.1,
                ),
            ),
        ),
        StarterSet(
            "sdxl",
            "SDXL",
            (
                StarterModel(
                    "SDXL base 1.0",
                    f"{HF}/stabilityai/stable-diffusion-xl-base-1.0/resolve/main/"
                    "sd_xl_base_1.0.safetensors",
                    "checkpoints",
                    approx_gb=6.9,
                ),
            ),
        ),
        StarterSet(
            "flux-dev",
            "Flux.1 dev (fp8)",
            short="Flux.1 dev",
            models=(
                StarterModel(
                    "Flux.1 dev fp8 (with its text encoders and VAE)",
                    f"{HF}/Comfy-Org/flux1-dev/resolve/main/flux1-dev-fp8.safetensors",
                    "checkpoints",
                    approx_gb=17.2,
                ),
            ),
        ),
        StarterSet(
            "z-image-turbo",
            "Z-Image Turbo",
            (
                StarterModel(
                    "Z-Image Turbo (bf16)",
                    f"{_ZIMAGE}/diffusion_models/z_image_turbo_bf16.safetensors",
                    "diffusion_models",
                    approx_gb=12.3,
                ),
                StarterModel(
                    "Qwen3 4B text encoder",
                    f"{_ZIMAGE}/text_encoders/qwen_3_4b.safetensors",
                    "text_encoders",
                    approx_gb=8.0,
                ),
                StarterModel(
                    "Flux VAE (ae)", f"{_ZIMAGE}/vae/ae.safetensors", "vae", approx_gb=0.3
                ),
            ),
        ),
        StarterSet(
            "qwen-image",
            "Qwen-Image (fp8)",
            short="Qwen-Image",
            models=(
                StarterModel(
                    "Qwen-Image fp8",
                    f"{_QWEN}/diffusion_models/qwen_image_fp8_e4m3fn.safetensors",
                    "diffusion_models",
                    approx_gb=20.4,
                ),
                StarterModel(
                    "Qwen2.5-VL 7B text encoder (fp8)",
                    f"{_QWEN}/text_encoders/qwen_2.5_vl_7b_fp8_scaled.safetensors",
                    "text_encoders",
                    approx_gb=9.4,
                ),
                StarterModel(
                    "Qwen-Image VAE",
                    f"{_QWEN}/vae/qwen_image_vae.safetensors",
                    "vae",
                    approx_gb=0.25,
                ),
            ),
        ),
    )
}


def starter_models(set_ids: list[str] | tuple[str, ...] | set[str]) -> list[StarterModel]:
    """The files of the ticked sets, in the table's order, each once (unknown ids ignored)."""
    seen: set[tuple[str, str]] = set()
    models = []
    for starter in STARTER_SETS.values():
        if starter.id not in set_ids:
            continue
        for model in starter.models:
            if (model.folder, model.filename) not in seen:
                seen.add((model.folder, model.filename))
                models.append(model)
    return models
