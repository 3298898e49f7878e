"""Model families: how to recognise a model by its file name, which pieces it needs, which
nodes its graph uses and the sampling defaults that suit it.

Data, in one place (the table is in ``family_table.py``). A family can always be given
explicitly (``--arch``, the docker's Advanced section); detection from the name is only the
default. Adding a family is one entry in the table plus, if its graph differs from the
existing ones, a graph function in the builder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..request import Extent, InvalidRequest, ModelKind


class Edit(str, Enum):
    """How an instruction-editing model takes the image to edit."""

    none = "none"
    kontext = "kontext"  # FluxKontextImageScale → VAEEncode → ReferenceLatent
    qwen = "qwen"  # TextEncodeQwenImageEdit (one image)
    qwen_plus = "qwen_plus"  # TextEncodeQwenImageEditPlus (up to three images)
    reference = "reference"  # Flux.2: VAEEncode → ReferenceLatent on positive and negative


@dataclass(frozen=True)
class Piece:
    """A file a split model needs besides the diffusion model: a text encoder or a VAE."""

    label: str  # "T5-XXL text encoder"
    patterns: tuple[str, ...]  # regexes matched against the lower-case file name
    example: str  # the name ComfyUI's examples use, shown to the painter
    folder: str = "text_encoders"  # under models/
    builtin: bool = False  # offered by ComfyUI itself (the "pixel_space" VAE), not a file

    def matches(self, filename: str) -> bool:
        name = filename.replace("\\", "/").lower().rsplit("/", 1)[-1]
        return any(re.search(p, name) for p in self.patterns)

    def missing_message(self) -> str:
        if self.builtin:
            return f"needs ComfyUI's built-in {self.label} ('{self.example}'): update ComfyUI"
        article = "an" if self.label[:1].lower() in "aeiou" else "a"
        return f"needs {article} {self.label} in models/{self.folder}, e.g. {self.example}"


@dataclass(frozen=True)
class Family:
    id: str  # "flux-dev"; what --arch and the request's family name
    title: str  # "Flux.1 dev", shown to the painter
    patterns: tuple[str, ...]  # regexes on the lower-case file name; () = fallback only
    native: Extent  # the resolution it was trained at (~1 megapixel for the 1024 families)
    # Sampling defaults that suit the family (used when the painter has not chosen).
    sampler: str = "euler"
    scheduler: str = "normal"
    steps: int = 20
    cfg: float = 7.0
    guidance: float | None = None  # FluxGuidance value (guidance-distilled models)
    kinds: tuple[ModelKind, ...] = (
        ModelKind.checkpoint,
    )  # how its files come; the first is the default
    # Pieces a split model needs (a checkpoint of the family holds them all).
    text_encoders: tuple[Piece, ...] = ()
    clip_type: str = ""  # CLIPLoader / DualCLIPLoader "type"
    vae: Piece | None = None
    latent: str = "EmptyLatentImage"  # the empty-latent node of txt2img
    latent_multiple: int = 8  # sampling sizes are multiples of this
    model_sampling: tuple[str, float] | None = None  # ("ModelSamplingAuraFlow", shift)
    sigmas: str = ""  # "Flux2Scheduler": SamplerCustomAdvanced with it; "" = KSampler
    # A checkpoint of the family holds its text encoders (False: SD3.5, unless the name
    # matches ``bundled``, as for the "…_fp8_scaled" all-in-one files).
    checkpoint_has_text_encoders: bool = True
    bundled: tuple[str, ...] = ()
    inpaint_conditioning: bool = False  # inpaint: InpaintModelConditioning + DifferentialDiffusion
    negative: bool = True  # False: cfg 1 distilled model, negative conditioning zeroed
    lora_clip: bool = False  # its LoRAs also patch the text encoder (LoraLoader)
    controlnet: bool = False  # ControlNet through core nodes
    # ControlNets that are model patches (models/model_patches: ModelPatchLoader, then
    # QwenImageDiffsynthControlnet patches the model), as Z-Image's "Fun" ControlNets are.
    control_patch: bool = False
    control_examples: tuple[str, ...] = ()  # typical ControlNet patch files (placeholders, docs)
    edit: Edit = Edit.none
    max_references: int = 0  # reference images an edit model takes besides the canvas
    unsupported: str = ""  # detected but not runnable: the message that says so
    controlnet_note: str = ""  # why ControlNet is not available, when there is more to say
    # What the server must have besides the nodes the graph uses (``requirements.py``): the
    # first ComfyUI release that loads the family, from the version /system_stats reports.
    min_version: tuple[int, ...] | None = None
    nodes: tuple[str, ...] = ()  # node classes its graph needs beyond the ones named above
    examples: tuple[str, ...] = ()  # typical model file names (placeholders, docs, tests)

    @property
    def is_edit(self) -> bool:
        return self.edit is not Edit.none

    def matches(self, filename: str) -> bool:
        name = filename.replace("\\", "/").lower().rsplit("/", 1)[-1]
        return any(re.search(p, name) for p in self.patterns)


def _table() -> tuple[tuple[Family, ...], dict[str, str]]:
    from .family_table import ALIASES, FAMILIES

    return FAMILIES, ALIASES


def all_families() -> tuple[Family, ...]:
    return _table()[0]


def by_id(family_id: str) -> Family:
    """The family named ``family_id`` (or an alias such as "flux"); an unknown name is an
    error listing the known ones."""
    families, aliases = _table()
    wanted = family_id.strip().lower()
    wanted = aliases.get(wanted, wanted)
    for family in families:
        if family.id == wanted:
            return family
    known = ", ".join(f.id for f in families)
    raise InvalidRequest(f"Unknown model family '{family_id}'. Known: {known}.")


def detect(filename: str) -> Family | None:
    """The first family whose pattern matches ``filename``, or None."""
    for family in all_families():
        if family.matches(filename):
            return family
    return None


def family_of(model: str, explicit: str | None = None) -> Family:
    """The family named ``explicit``, else the one detected from the model's file name, else
    SD1.5 (the fallback for an unrecognised checkpoint)."""
    if explicit:
        return by_id(explicit)
    return detect(model) or by_id("sd15")


def require_supported(family: Family) -> None:
    if family.unsupported:
        raise InvalidRequest(family.unsupported)
