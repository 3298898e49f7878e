"""Which models a server can run: each model file with its family, how it is stored, the
pieces it needs (text encoders, VAE) found among the server's files by the family's rules, and
in the painter's words what is missing and where to put it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..request import InvalidRequest, ModelKind
from .families import Family, Piece, by_id, detect
from .object_info import ObjectInfo, choices
from .requirements import server_refusal

UNKNOWN_FAMILY = "unknown model family: choose the family under Advanced (or with --arch) to use it"


@dataclass(frozen=True)
class ServerFiles:
    """The model files a server lists, by folder, and what the server says about itself: the
    ComfyUI version of its /system_stats and its /object_info (its nodes), where known."""

    checkpoints: Sequence[str] = ()
    diffusion_models: Sequence[str] = ()
    text_encoders: Sequence[str] = ()  # models/text_encoders and models/clip
    vaes: Sequence[str] = ()
    version: tuple[int, ...] | None = None
    object_info: ObjectInfo | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_object_info(
        cls, info: ObjectInfo, version: tuple[int, ...] | None = None
    ) -> ServerFiles:
        return cls(
            checkpoints=choices(info, "CheckpointLoaderSimple", "ckpt_name"),
            diffusion_models=choices(info, "UNETLoader", "unet_name"),
            text_encoders=choices(info, "CLIPLoader", "clip_name"),
            vaes=choices(info, "VAELoader", "vae_name"),
            version=version,
            object_info=info,
        )

    def refusal(self, family: Family, text_encoders: bool = True) -> str:
        """Why this server cannot run ``family`` ("" = it can, as far as it tells)."""
        return server_refusal(family, self.object_info, self.version, text_encoders)

    def kind_of(self, model: str) -> ModelKind | None:
        if model in self.checkpoints:
            return ModelKind.checkpoint
        if model in self.diffusion_models:
            return ModelKind.split
        return None


@dataclass(frozen=True)
class Pieces:
    """What a model loads: the model file and, for split models, text encoders and a VAE."""

    model: str
    kind: ModelKind
    text_encoders: tuple[str, ...] = ()  # () for a checkpoint that holds its own
    vae: str | None = None  # None: the checkpoint's own
    missing: tuple[str, ...] = ()
    refused: str = ""  # the family cannot run on this server at all: why, in full

    def files(self) -> dict[str, Any]:
        return {"model": self.model, "text_encoders": list(self.text_encoders), "vae": self.vae}


@dataclass(frozen=True)
class ModelEntry:
    """A usable (or almost usable) model as the picker lists it."""

    name: str
    family: Family | None
    pieces: Pieces
    detected: bool = True  # the family came from the name, not an override

    @property
    def kind(self) -> ModelKind:
        return self.pieces.kind

    @property
    def ready(self) -> bool:
        return not self.pieces.missing

    @property
    def missing(self) -> tuple[str, ...]:
        return self.pieces.missing

    @property
    def title(self) -> str:
        return self.family.title if self.family else "unknown family"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family.id if self.family else None,
            "family_title": self.title,
            "kind": self.kind.value,
            "files": self.pieces.files(),
            "ready": self.ready,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Override:
    """The painter's choices for one model (the docker's Advanced section, CLI options)."""

    family: str | None = None
    text_encoders: tuple[str, ...] = ()
    vae: str | None = None
    kind: ModelKind | None = None


def _find(piece: Piece, available: Sequence[str]) -> str | None:
    return next((name for name in available if piece.matches(name)), None)


def needs_text_encoders(family: Family, kind: ModelKind, model: str) -> bool:
    if kind is ModelKind.split:
        return True
    if family.checkpoint_has_text_encoders:
        return False
    return not any(re.search(p, model.lower()) for p in family.bundled)


def resolve_pieces(
    model: str,
    family: Family,
    files: ServerFiles | None,
    override: Override = Override(),
) -> Pieces:
    """The files ``model`` loads. With ``files`` (the server's), pieces not given in
    ``override`` are found by the family's rules, and what is missing is said; without, the
    family's example names stand in (a graph to read, not to run)."""
    kind = override.kind or (files.kind_of(model) if files else None) or family.kinds[0]
    if family.unsupported:
        return Pieces(model, kind, missing=(family.unsupported,), refused=family.unsupported)
    if files is not None:
        refusal = files.refusal(family, needs_text_encoders(family, kind, model))
        if refusal:
            return Pieces(model, kind, missing=(refusal,), refused=refusal)
    missing: list[str] = []
    if kind is ModelKind.split and kind not in family.kinds:
        missing.append(f"{family.title} comes as one checkpoint file: put it in models/checkpoints")
    encoders: tuple[str, ...] = ()
    if needs_text_encoders(family, kind, model):
        if override.text_encoders:
            encoders = override.text_encoders
        else:
            found = []
            for piece in family.text_encoders:
                name = piece.example if files is None else _find(piece, files.text_encoders)
                if name is None:
                    missing.append(piece.missing_message())
                else:
                    found.append(name)
            encoders = tuple(found)
        if not family.text_encoders and not override.text_encoders:
            missing.append(UNKNOWN_FAMILY)
    vae = override.vae
    if vae is None and kind is ModelKind.split:
        if family.vae is None:
            missing.append(f"needs a VAE in models/vae for {family.title}")
        elif files is None:
            vae = family.vae.example
        else:
            vae = _find(family.vae, files.vaes)
            if vae is None:
                missing.append(family.vae.missing_message())
    return Pieces(model, kind, encoders, vae, tuple(dict.fromkeys(missing)))


def require_ready(pieces: Pieces, family: Family) -> None:
    if pieces.refused:
        raise InvalidRequest(pieces.refused)
    if pieces.missing:
        listed = "; ".join(pieces.missing)
        raise InvalidRequest(
            f"The {family.title} model '{pieces.model}' cannot run yet: it {listed}. "
            "Copy the file into that folder on the server, then press Refresh (or choose the "
            "file under Advanced)."
        )


def discover_models(
    files: ServerFiles, overrides: dict[str, Override] | None = None
) -> list[ModelEntry]:
    """Every checkpoint and diffusion model of the server, with family, kind and pieces:
    ready models first, in the server's order."""
    overrides = overrides or {}
    entries: list[ModelEntry] = []
    for name, kind in [
        *((n, ModelKind.checkpoint) for n in files.checkpoints),
        *((n, ModelKind.split) for n in files.diffusion_models),
    ]:
        override = overrides.get(name, Override())
        family: Family | None
        if override.family:
            family = by_id(override.family)
        else:
            family = detect(name)
            if family is None and kind is ModelKind.checkpoint:
                family = by_id("sd15")
        if family is None:
            pieces = Pieces(name, kind, missing=(UNKNOWN_FAMILY,))
        else:
            pieces = resolve_pieces(name, family, files, override)
        entries.append(ModelEntry(name, family, pieces, detected=not override.family))
    return sorted(entries, key=lambda e: not e.ready)
