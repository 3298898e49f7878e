"""Model families: native resolution and how to recognise a checkpoint by its file name.

Data, in one place. A family can always be given explicitly (``--arch``, the docker's choice);
detection from the name is only the default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..request import Extent


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    native: Extent
    name_pattern: str  # regex matched against the lower-case file name; "" = fallback
    # Sampling defaults that suit the family (used when the painter has not chosen).
    sampler: str = "euler"
    scheduler: str = "normal"
    steps: int = 20
    cfg: float = 7.0


FAMILIES = (
    Family(
        "sdxl",
        "Stable Diffusion XL",
        Extent(1024, 1024),
        r"(sdxl|xl[_\-.]|[_\-]xl\b|pony|illustrious)",
        "dpmpp_2m",
        "karras",
        25,
        6.0,
    ),
    Family(
        "sd3",
        "Stable Diffusion 3",
        Extent(1024, 1024),
        r"(sd3|sd_3)",
        "dpmpp_2m",
        "sgm_uniform",
        28,
        4.5,
    ),
    Family("flux", "Flux", Extent(1024, 1024), r"flux", "euler", "simple", 20, 1.0),
    Family("sd15", "Stable Diffusion 1.5", Extent(512, 512), r"", "euler", "normal", 20, 7.0),
)
BY_NAME = {f.name: f for f in FAMILIES}
DEFAULT = BY_NAME["sd15"]


def family_of(checkpoint: str, explicit: str | None = None) -> Family:
    """The family named ``explicit``, else the first whose pattern matches the checkpoint name."""
    if explicit:
        try:
            return BY_NAME[explicit.lower()]
        except KeyError:
            from ..request import InvalidRequest

            known = ", ".join(BY_NAME)
            raise InvalidRequest(f"Unknown model family '{explicit}'. Known: {known}.") from None
    name = checkpoint.lower()
    for family in FAMILIES:
        if family.name_pattern and re.search(family.name_pattern, name):
            return family
    return DEFAULT
