"""Few-step sampling for live painting: what each model family needs to follow strokes.

Data, in one place. A distilled checkpoint (Turbo, Lightning, Hyper, LCM, Flux Schnell) is
recognised by its file name; otherwise an acceleration LoRA the server has for the family is
used; otherwise the family's own sampler runs with fewer steps, and ``slow`` says why live
painting will lag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..request import LoraRef, Sampling
from .families import family_of
from .object_info import ObjectInfo, choices, pick


@dataclass(frozen=True)
class Accelerator:
    name: str  # shown to the painter
    pattern: str  # regex on the lower-case checkpoint or LoRA file name
    sampler: str
    scheduler: str
    steps: int
    cfg: float
    families: tuple[str, ...]  # families it exists for ("" in a LoRA's name is not checked)


# Checkpoints distilled for few steps (name → settings).
FAST_CHECKPOINTS = (
    Accelerator("Flux Schnell", r"schnell", "euler", "simple", 4, 1.0, ("flux",)),
    Accelerator("Turbo", r"turbo", "euler_ancestral", "sgm_uniform", 4, 1.0, ("sd15", "sdxl")),
    Accelerator("Lightning", r"lightning", "euler", "sgm_uniform", 6, 1.5, ("sdxl",)),
    Accelerator("Hyper", r"hyper", "euler", "sgm_uniform", 6, 1.5, ("sd15", "sdxl")),
    Accelerator("LCM", r"\blcm|lcm[_\-.]", "lcm", "sgm_uniform", 6, 1.5, ("sd15", "sdxl")),
)
# LoRAs that make a normal checkpoint fast; the family must appear in the LoRA's name
# (e.g. "lcm-lora-sdv1-5", "sdxl_lightning_4step_lora"): a LoRA of another family breaks it.
FAST_LORAS = (
    Accelerator("LCM LoRA", r"lcm", "lcm", "sgm_uniform", 6, 1.5, ("sd15", "sdxl")),
    Accelerator("Lightning LoRA", r"lightning", "euler", "sgm_uniform", 6, 1.5, ("sdxl",)),
    Accelerator("Hyper LoRA", r"hyper", "euler", "sgm_uniform", 6, 1.5, ("sd15", "sdxl")),
)
FAMILY_IN_NAME = {
    "sd15": r"(sd[_\-.]?v?1[_\-.]?5|sd15|v1[_\-.]5)",
    "sdxl": r"(sdxl|xl)",
}
# Without an accelerator: the family's sampler with this many steps.
PLAIN_STEPS = {"sd15": 10, "sdxl": 12, "sd3": 14, "flux": 12}


@dataclass(frozen=True)
class LiveSetup:
    sampling: Sampling
    loras: tuple[LoraRef, ...] = ()
    accelerator: str = ""  # what makes it fast ("Turbo", "LCM LoRA"); "" = none
    slow: str = ""  # a note for the painter when live painting will lag


def base_family(family_id: str) -> str:
    """The tables above name base families: every SDXL fine-tune (Pony, Illustrious …) is
    "sdxl", every SD3.x "sd3", every Flux.1 "flux"; other families are themselves."""
    for prefix, group in (("sdxl", "sdxl"), ("sd3", "sd3"), ("flux-", "flux")):
        if family_id.startswith(prefix):
            return group
    return family_id


def live_setup(
    checkpoint: str,
    loras: list[str],
    object_info: ObjectInfo | None = None,
    family: str | None = None,
    device_type: str = "",
) -> LiveSetup:
    """Few-step sampling for ``checkpoint`` with what the server has (``loras``)."""
    f = family_of(checkpoint, family)
    group = base_family(f.id)
    name = checkpoint.lower()
    accelerator: Accelerator | None = next(
        (a for a in FAST_CHECKPOINTS if group in a.families and re.search(a.pattern, name)),
        None,
    )
    lora: LoraRef | None = None
    if accelerator is None:
        for a in FAST_LORAS:
            if group not in a.families:
                continue
            found = _fast_lora(loras, a.pattern, group)
            if found:
                accelerator, lora = a, LoraRef(found, 1.0)
                break
    info = object_info or {}
    if accelerator is not None:
        sampler, scheduler = accelerator.sampler, accelerator.scheduler
        steps, cfg = accelerator.steps, accelerator.cfg
    else:
        sampler, scheduler, cfg = f.sampler, f.scheduler, f.cfg
        steps = PLAIN_STEPS.get(group, 10)
    sampling = Sampling(
        pick(choices(info, "KSampler", "sampler_name"), sampler),
        pick(choices(info, "KSampler", "scheduler"), scheduler),
        steps,
        cfg,
    )
    notes = []
    if accelerator is None:
        notes.append(
            f"{f.title} without a Turbo, Lightning or LCM variant runs {steps} steps per "
            "update, so the preview lags behind your strokes. A fast model (or an LCM / "
            "Lightning LoRA on the server) makes live painting fluid."
        )
    if device_type == "cpu":
        notes.append("The server computes on its CPU: each update takes seconds.")
    return LiveSetup(
        sampling,
        (lora,) if lora else (),
        accelerator.name if accelerator else "",
        " ".join(notes),
    )


def _fast_lora(loras: list[str], pattern: str, family: str) -> str | None:
    family_pattern = FAMILY_IN_NAME.get(family)
    for lora in loras:
        name = lora.lower()
        if not re.search(pattern, name):
            continue
        is_xl = re.search(FAMILY_IN_NAME["sdxl"], name) is not None
        if family == "sdxl" and is_xl:
            return lora
        if family == "sd15" and not is_xl and family_pattern and re.search(family_pattern, name):
            return lora
    return None
