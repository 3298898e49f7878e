"""The chosen model and how it runs: the usable models of the server, the painter's overrides
of family and pieces (remembered per model), sampling values prefilled with the family's
defaults (the family table is their one source), the resolution to sample at, and Edit mode.
Widgets show this state; they never decide any of it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..qt import Signal
from ..request import GenerationRequest, ModelKind, Resolution, Sampling
from ..workflow.discovery import ModelEntry, Override, discover_models
from ..workflow.families import Family, all_families, by_id, family_of
from ..workflow.object_info import pick
from .observable import Observable, StateObject

SAMPLING_FIELDS = ("steps", "cfg", "guidance", "sampler", "scheduler")
FALLBACK = family_of("")  # what the builder uses for a model of no known family
# Resolution choices: the family's size scaled (sides), with what that means for a painter.
SCALES = (
    (0.5, ": drafts, fast"),
    (0.75, ""),
    (1.25, ""),
    (1.5, ": more detail, slower"),
    (2.0, ": slow; may repeat subjects"),
)


def override_from_json(data: Any) -> Override:
    if not isinstance(data, dict):
        return Override()
    encoders = data.get("text_encoders") or ()
    return Override(
        family=data.get("family") or None,
        text_encoders=tuple(str(e) for e in encoders if e),
        vae=data.get("vae") or None,
    )


def override_to_json(override: Override) -> dict[str, Any]:
    return {
        "family": override.family,
        "text_encoders": list(override.text_encoders),
        "vae": override.vae,
    }


class ModelChoice(StateObject):
    model: Observable[str] = Observable("")
    family_text: Observable[str] = Observable("")  # "Flux.1 dev · split files"
    missing_text: Observable[str] = Observable("")  # what an incomplete model lacks
    edit_available: Observable[bool] = Observable(False)
    edit: Observable[bool] = Observable(False)
    max_references: Observable[int] = Observable(0)  # reference layers the edit model takes
    steps: Observable[int] = Observable(FALLBACK.steps)
    cfg: Observable[float] = Observable(FALLBACK.cfg)
    guidance: Observable[float] = Observable(0.0)  # used by guidance-distilled families
    guidance_used: Observable[bool] = Observable(False)
    sampler: Observable[str] = Observable(FALLBACK.sampler)
    scheduler: Observable[str] = Observable(FALLBACK.scheduler)
    resolution: Observable[Resolution] = Observable(Resolution())  # default: the family's size

    entries_changed = Signal()

    def __init__(self, overrides: dict[str, Any] | None = None) -> None:
        """``overrides``: the settings' per-model choices (JSON), updated in place."""
        super().__init__()
        self.saved = overrides if overrides is not None else {}
        self.entries: list[ModelEntry] = []
        self.files: Any = None
        self.samplers: list[str] = []
        self.schedulers: list[str] = []
        self.touched: set[str] = set()  # sampling values the painter set himself

    # Server models ------------------------------------------------------------------------

    def set_server_models(self, models: Any, keep: str | None = None) -> None:
        """``models``: a ``ServerModels``; ``keep``: the model to select if still there."""
        self.files = models.files
        self.samplers = list(models.samplers)
        self.schedulers = list(models.schedulers)
        self._rediscover()
        names = [e.name for e in self.entries]
        wanted = keep or self.model
        if wanted not in names:
            ready = [e.name for e in self.entries if e.ready]
            wanted = ready[0] if ready else (names[0] if names else "")
        self.select(wanted, force=True)

    def _rediscover(self) -> None:
        if self.files is None:
            return
        overrides = {name: override_from_json(data) for name, data in self.saved.items()}
        self.entries = discover_models(self.files, overrides)
        self.entries_changed.emit()

    def entry(self, name: str | None = None) -> ModelEntry | None:
        name = self.model if name is None else name
        return next((e for e in self.entries if e.name == name), None)

    @property
    def family(self) -> Family | None:
        entry = self.entry()
        return entry.family if entry else None

    # Choosing ------------------------------------------------------------------------------

    def select(self, name: str, force: bool = False) -> None:
        if name == self.model and not force:
            return
        self.model = name
        self._describe()

    def _describe(self) -> None:
        entry = self.entry()
        family = entry.family if entry else None
        if entry is None:
            self.family_text, self.missing_text = "", ""
        else:
            kind = "checkpoint" if entry.kind is ModelKind.checkpoint else "split files"
            self.family_text = f"{entry.title} · {kind}"
            self.missing_text = "; ".join(entry.missing)
        self.edit_available = bool(family and family.is_edit)
        self.max_references = family.max_references if family and family.is_edit else 0
        if not self.edit_available:
            self.edit = False
        self.guidance_used = bool(family and family.guidance is not None)
        if entry is not None:
            # A model of no known family is built with the fallback family: its defaults.
            self._prefill(family or family_of(entry.name))

    def _prefill(self, family: Family) -> None:
        """Family defaults for each sampling value the painter did not set himself."""
        defaults = {
            "steps": family.steps,
            "cfg": family.cfg,
            "guidance": family.guidance or 0.0,
            "sampler": pick(self.samplers, family.sampler),
            "scheduler": pick(self.schedulers, family.scheduler),
        }
        for name in SAMPLING_FIELDS:
            if name not in self.touched:
                setattr(self, name, defaults[name])

    def set_sampling(self, name: str, value: Any) -> None:
        """The painter changed a sampling value: it stays when the model changes."""
        if name not in SAMPLING_FIELDS:
            raise AttributeError(name)
        if getattr(self, name) != value:
            self.touched.add(name)
            setattr(self, name, value)

    def reset_sampling(self) -> None:
        """Back to the family's defaults (and its resolution)."""
        self.touched.clear()
        self.resolution = Resolution()
        self._describe()

    def resolution_choices(self) -> list[tuple[str, Resolution]]:
        """What the painter can choose, in words: the family's size (the default), the canvas
        or selection's own size, or the family's size scaled."""
        family = self.family
        native = family.native if family else None

        def size(scale: float) -> str:
            if native is None:
                return ""
            return f" · {round(native.width * scale)}×{round(native.height * scale)}"

        name = f" ({family.title})" if family else ""
        return [
            (f"Auto: the model's size{size(1.0)}{name}", Resolution()),
            ("Canvas size: no scaling (slow on large canvases)", Resolution(own_size=True)),
            *((f"{scale:.0%}{size(scale)}{note}", Resolution(scale)) for scale, note in SCALES),
        ]

    # Overrides (the docker's Advanced section) -------------------------------------------

    @staticmethod
    def family_choices() -> list[tuple[str, str]]:
        """(id, title) of every family the painter can choose."""
        return [(f.id, f.title) for f in all_families()]

    def override(self) -> Override:
        return override_from_json(self.saved.get(self.model))

    def set_override(
        self,
        family: str | None = None,
        text_encoders: tuple[str, ...] = (),
        vae: str | None = None,
    ) -> None:
        """Remember the painter's family and pieces for the current model (None / () = found
        automatically); raises ``InvalidRequest`` for an unknown family."""
        if family:
            by_id(family)
        override = Override(family or None, tuple(t for t in text_encoders if t), vae or None)
        if override == Override():
            self.saved.pop(self.model, None)
        else:
            self.saved[self.model] = override_to_json(override)
        self._rediscover()
        self._describe()

    # The request ---------------------------------------------------------------------------

    def sampling(self, seed: int = 0, batch_size: int = 1) -> Sampling:
        return Sampling(self.sampler, self.scheduler, self.steps, self.cfg, seed, batch_size)

    def request(self, seed: int = 0, batch_size: int = 1, **panel: Any) -> GenerationRequest:
        """A request with the chosen model, its pieces, sampling values and resolution;
        ``panel``: the rest of the docker's values (prompt, strength, LoRAs…)."""
        request = GenerationRequest(
            checkpoint=self.model,
            sampling=self.sampling(seed, batch_size),
            resolution=self.resolution,
            **panel,
        )
        entry = self.entry()
        if entry is None:
            return request
        pieces = entry.pieces
        return replace(
            request,
            kind=pieces.kind,
            family=entry.family.id if entry.family else None,
            text_encoders=pieces.text_encoders,
            vae=pieces.vae,
            guidance=self.guidance if self.guidance_used else None,
            edit=self.edit,
        )
