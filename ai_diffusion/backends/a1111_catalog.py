"""What an Automatic1111 or Forge WebUI offers, read from its API, and how the request
contract's names (ComfyUI-style file and sampler names, or the WebUI's own) resolve to the
names the WebUI takes. Facts: the WebUI API documentation
(https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API; a server's own ``/docs``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..comfy.models import DeviceInfo, ServerModels
from ..request import InvalidRequest
from ..workflow.loras import resolve_lora

# ComfyUI sampler and scheduler names (the request's defaults, the model families' defaults)
# → the WebUI's. Names the WebUI lists itself are used as they are.
SAMPLERS = {
    "euler": "Euler",
    "euler_ancestral": "Euler a",
    "heun": "Heun",
    "dpm_2": "DPM2",
    "dpm_2_ancestral": "DPM2 a",
    "lms": "LMS",
    "dpm_fast": "DPM fast",
    "dpm_adaptive": "DPM adaptive",
    "dpmpp_2s_ancestral": "DPM++ 2S a",
    "dpmpp_sde": "DPM++ SDE",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_sde": "DPM++ 2M SDE",
    "dpmpp_3m_sde": "DPM++ 3M SDE",
    "ddim": "DDIM",
    "plms": "PLMS",
    "uni_pc": "UniPC",
    "lcm": "LCM",
    "restart": "Restart",
}
SCHEDULERS = {
    "normal": "Normal",
    "karras": "Karras",
    "exponential": "Exponential",
    "sgm_uniform": "SGM Uniform",
    "simple": "Simple",
    "ddim_uniform": "Uniform",
    "beta": "Beta",
    "kl_optimal": "KL Optimal",
}
_HASH_SUFFIX = re.compile(r"\s*\[[0-9a-fA-F]{8,10}\]$")


def _fold(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name).strip().lower()


@dataclass(frozen=True)
class Checkpoint:
    title: str  # what override_settings.sd_model_checkpoint takes
    name: str  # the file relative to models/Stable-diffusion, e.g. "sdxl/juggernaut.safetensors"
    model_name: str

    @property
    def stem(self) -> str:
        """``info.sd_model_name`` of images made with it: the file name without extension."""
        return PurePosixPath(self.name.replace("\\", "/")).name.rsplit(".", 1)[0]

    @classmethod
    def parse(cls, entry: dict[str, Any]) -> Checkpoint:
        title = str(entry.get("title", ""))
        return cls(title, _HASH_SUFFIX.sub("", title), str(entry.get("model_name", "")))


@dataclass
class Catalog:
    forge: bool = False
    checkpoints: list[Checkpoint] = field(default_factory=list)
    loras: list[str] = field(default_factory=list)
    samplers: list[dict[str, Any]] = field(default_factory=list)
    schedulers: list[dict[str, Any]] = field(default_factory=list)
    upscalers: list[dict[str, Any]] = field(default_factory=list)
    vaes: list[str] = field(default_factory=list)  # sd-vae (A1111) or sd-modules (Forge) names
    controlnet_models: list[str] | None = None  # None: the ControlNet extension is not there
    controlnet_modules: list[str] = field(default_factory=list)
    version: str = ""  # from the first generation's info, when known
    vram_total: int = 0

    @classmethod
    def from_api(
        cls,
        models: list[Any],
        samplers: Any,
        schedulers: Any,
        loras: Any,
        upscalers: Any,
        modules: Any,
        vaes: Any,
        memory: Any,
        cn_models: Any,
        cn_modules: Any,
        version: str = "",
    ) -> Catalog:
        """From the answers of /sdapi/v1/sd-models, samplers, schedulers, loras, upscalers,
        sd-modules (Forge only: None elsewhere), sd-vae, memory and /controlnet/model_list and
        module_list (None where the route is missing)."""

        def dicts(value: Any) -> list[dict[str, Any]]:
            return [x for x in value or [] if isinstance(x, dict)]

        files = modules if isinstance(modules, list) else vaes if isinstance(vaes, list) else []
        cuda = memory.get("cuda") if isinstance(memory, dict) else None
        system = cuda.get("system") if isinstance(cuda, dict) else None
        total = system.get("total") if isinstance(system, dict) else 0
        has_controlnet = isinstance(cn_models, dict)
        modules_list = cn_modules.get("module_list", []) if isinstance(cn_modules, dict) else []
        return cls(
            forge=isinstance(modules, list),
            checkpoints=[Checkpoint.parse(m) for m in dicts(models)],
            loras=[str(x.get("name")) for x in dicts(loras)],
            samplers=dicts(samplers),
            schedulers=dicts(schedulers),
            upscalers=dicts(upscalers),
            vaes=[str(x.get("model_name")) for x in dicts(files)],
            controlnet_models=[str(m) for m in cn_models.get("model_list", [])]
            if has_controlnet
            else None,
            controlnet_modules=[str(m) for m in modules_list],
            version=version,
            vram_total=int(total or 0),
        )

    @property
    def flavour(self) -> str:
        return "Forge" if self.forge else "Automatic1111"

    def describe(self) -> str:
        return f"{self.flavour} {self.version}".strip() + " (WebUI API)"

    def server_models(self) -> ServerModels:
        return ServerModels(
            checkpoints=[c.name for c in self.checkpoints],
            vaes=list(self.vaes),
            loras=list(self.loras),
            controlnets=list(self.controlnet_models or []),
            upscalers=[str(u.get("name")) for u in self.upscalers if u.get("name") != "None"],
            samplers=[str(s.get("name")) for s in self.samplers],
            schedulers=[str(s.get("label") or s.get("name")) for s in self.schedulers],
            device=DeviceInfo(name=self.describe(), type="webui", vram_total=self.vram_total),
        )

    # Names ----------------------------------------------------------------------------------

    def checkpoint(self, name: str) -> Checkpoint:
        """The WebUI's checkpoint for a file name, model name or title (case-insensitive;
        with or without subfolder and extension)."""
        wanted = name.strip().replace("\\", "/").lower()
        for c in self.checkpoints:
            if wanted in (c.title.lower(), c.name.replace("\\", "/").lower(), c.model_name.lower()):
                return c
        wanted_stem = PurePosixPath(_HASH_SUFFIX.sub("", wanted)).name.rsplit(".", 1)[0]
        for c in self.checkpoints:
            if c.stem.lower() == wanted_stem:
                return c
        names = [c.name for c in self.checkpoints]
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        listed = ", ".join(close or names[:8]) or "none"
        raise InvalidRequest(
            f"The WebUI has no model (checkpoint) named '{name}'. "
            f"{'Did you mean' if close else 'It has'}: {listed}. Pick one of those, or copy the "
            "file into the WebUI's models/Stable-diffusion folder and Refresh."
        )

    def lora(self, name: str) -> str:
        return resolve_lora(name, self.loras)

    def sampler(self, name: str) -> str:
        names = {_fold(str(s.get("name"))): str(s.get("name")) for s in self.samplers}
        for s in self.samplers:
            for alias in s.get("aliases") or []:
                names.setdefault(_fold(str(alias)), str(s.get("name")))
        for candidate in (name, SAMPLERS.get(name.lower(), "")):
            if candidate and _fold(candidate) in names:
                return names[_fold(candidate)]
        listed = ", ".join(str(s.get("name")) for s in self.samplers[:12])
        raise InvalidRequest(f"The WebUI has no sampler '{name}'. It has: {listed}.")

    def scheduler(self, name: str) -> str:
        labels: dict[str, str] = {}
        for s in self.schedulers:
            label = str(s.get("label") or s.get("name"))
            labels[_fold(label)] = label
            labels[_fold(str(s.get("name")))] = label
        for candidate in (name, SCHEDULERS.get(name.lower(), "")):
            if candidate and _fold(candidate) in labels:
                return labels[_fold(candidate)]
        if not self.schedulers:  # before 1.9 the sampler name carried the schedule
            return ""
        if name.lower() == "normal" and "automatic" in labels:  # ComfyUI's plain default
            return labels["automatic"]
        listed = ", ".join(labels[k] for k in list(labels)[::2][:12])
        raise InvalidRequest(f"The WebUI has no scheduler '{name}'. It has: {listed}.")

    def controlnet(self, name: str) -> str:
        if self.controlnet_models is None:
            raise InvalidRequest(
                "This WebUI has no ControlNet extension, so control layers cannot be used. "
                "Remove them, or install sd-webui-controlnet (Forge has it built in)."
            )
        wanted = name.strip().lower()
        for model in self.controlnet_models:
            if wanted in (model.lower(), _HASH_SUFFIX.sub("", model).lower()):
                return model
        stem = PurePosixPath(wanted).name.rsplit(".", 1)[0]
        for model in self.controlnet_models:
            if _HASH_SUFFIX.sub("", model).lower() == stem:
                return model
        listed = ", ".join(self.controlnet_models[:8]) or "none"
        raise InvalidRequest(
            f"The WebUI has no ControlNet model '{name}'. It has: {listed}. Copy the model into "
            "its ControlNet models folder and Refresh."
        )

    def upscaler(self, name: str) -> dict[str, Any]:
        wanted = name.strip().lower()
        for u in self.upscalers:
            if wanted in (str(u.get("name")).lower(), str(u.get("model_name") or "").lower()):
                return u
        stem = PurePosixPath(wanted).name.rsplit(".", 1)[0]
        for u in self.upscalers:
            path = str(u.get("model_path") or "").replace("\\", "/")
            if path and PurePosixPath(path).name.rsplit(".", 1)[0].lower() == stem:
                return u
        listed = ", ".join(str(u.get("name")) for u in self.upscalers[:10]) or "none"
        raise InvalidRequest(f"The WebUI has no upscaler '{name}'. It has: {listed}.")

    def vae(self, name: str) -> str:
        wanted = PurePosixPath(name.replace("\\", "/")).name.lower()
        for v in self.vaes:
            if PurePosixPath(v.replace("\\", "/")).name.lower() == wanted:
                return v
        listed = ", ".join(self.vaes[:8]) or "none"
        raise InvalidRequest(f"The WebUI has no VAE '{name}'. It has: {listed}.")
