"""What a server offers: model files, samplers, and its device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..workflow.discovery import ModelEntry, Override, ServerFiles, discover_models
from ..workflow.object_info import model_lists
from .answers import as_dict, as_int, as_list
from .server_api import parse_version


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class DeviceInfo:
    name: str = "unknown"
    type: str = ""
    vram_total: int = 0
    vram_free: int = 0
    comfyui_version: str = ""

    @property
    def vram_gb(self) -> float:
        return round(self.vram_total / 2**30, 1)

    @classmethod
    def from_system_stats(cls, stats: dict[str, Any]) -> DeviceInfo:
        """Informational only: any shape gives a DeviceInfo (unknown parts stay empty)."""
        stats = as_dict(stats)
        devices = as_list(stats.get("devices"))
        d = as_dict(devices[0]) if devices else {}
        system = as_dict(stats.get("system"))
        return cls(
            name=_text(d.get("name")) or "unknown",
            type=_text(d.get("type")),
            vram_total=max(0, as_int(d.get("vram_total"))),
            vram_free=max(0, as_int(d.get("vram_free"))),
            comfyui_version=_text(system.get("comfyui_version")),
        )


@dataclass
class ServerModels:
    checkpoints: list[str] = field(default_factory=list)
    diffusion_models: list[str] = field(default_factory=list)
    text_encoders: list[str] = field(default_factory=list)
    vaes: list[str] = field(default_factory=list)
    loras: list[str] = field(default_factory=list)
    controlnets: list[str] = field(default_factory=list)
    model_patches: list[str] = field(default_factory=list)  # ControlNets as model patches
    upscalers: list[str] = field(default_factory=list)
    embeddings: list[str] = field(default_factory=list)
    samplers: list[str] = field(default_factory=list)
    schedulers: list[str] = field(default_factory=list)
    device: DeviceInfo = field(default_factory=DeviceInfo)
    object_info: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def parse(
        cls, object_info: dict[str, Any], embeddings: list[str], system_stats: dict[str, Any]
    ) -> ServerModels:
        lists = model_lists(object_info)
        return cls(
            **lists,
            embeddings=[str(e) for e in embeddings],
            device=DeviceInfo.from_system_stats(system_stats),
            object_info=object_info,
        )

    @property
    def version(self) -> tuple[int, ...] | None:
        """The ComfyUI version the server reports (None: it does not say)."""
        return parse_version(self.device.comfyui_version)

    @property
    def files(self) -> ServerFiles:
        return ServerFiles(
            self.checkpoints, self.diffusion_models, self.text_encoders, self.vaes,
            version=self.version, object_info=self.object_info or None,
        )  # fmt: skip

    def usable_models(self, overrides: dict[str, Override] | None = None) -> list[ModelEntry]:
        """Checkpoints and diffusion models with family, kind, pieces and what is missing."""
        return discover_models(self.files, overrides)

    def to_json(self) -> dict[str, Any]:
        d = self.device
        return {
            "models": [entry.to_json() for entry in self.usable_models()],
            "checkpoints": self.checkpoints,
            "diffusion_models": self.diffusion_models,
            "text_encoders": self.text_encoders,
            "loras": self.loras,
            "controlnets": self.controlnets,
            "model_patches": self.model_patches,
            "vaes": self.vaes,
            "upscalers": self.upscalers,
            "embeddings": self.embeddings,
            "samplers": self.samplers,
            "schedulers": self.schedulers,
            "device": {
                "name": d.name,
                "type": d.type,
                "vram_total": d.vram_total,
                "vram_free": d.vram_free,
                "comfyui_version": d.comfyui_version,
            },
        }
