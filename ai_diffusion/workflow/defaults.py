"""Sampling defaults for a model, from the family table and what the server offers."""

from __future__ import annotations

from ..request import Sampling
from .families import family_of
from .object_info import ObjectInfo, choices, pick


def default_sampling(
    checkpoint: str, object_info: ObjectInfo | None = None, family: str | None = None
) -> Sampling:
    """Sampler, scheduler, steps and CFG that suit ``checkpoint``'s family; a sampler or
    scheduler the server does not list is replaced by the server's first one."""
    f = family_of(checkpoint, family)
    info = object_info or {}
    sampler = pick(choices(info, "KSampler", "sampler_name"), f.sampler)
    scheduler = pick(choices(info, "KSampler", "scheduler"), f.scheduler)
    return Sampling(sampler, scheduler, f.steps, f.cfg)
