"""The chosen style and what choosing one does: the model (or, when the server lacks the
style's file, another of its family), its pieces, sampling values and resolution go into the
docker's :class:`ModelChoice`; the LoRAs the server has and the negative prompt come back for
the panel to show; what the server lacks is said in one line, and the rest still applies. The
style's prompt template wraps the painter's prompt when the request is built
(``Params.style``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..qt import Signal
from ..request import LoraRef, Resolution
from ..workflow.families import Family, by_id, detect
from .model_choice import ModelChoice
from .observable import Observable, StateObject
from .style_defaults import SHIPPED
from .styles import FOLDER, PLACEHOLDER, Style, StyleModel, StyleSampling, StyleStore


@dataclass(frozen=True)
class Applied:
    """What the panel shows after a style was chosen."""

    style: Style
    loras: tuple[LoraRef, ...]  # those the server has (all of them when not connected)
    negative: str
    message: str  # one line: applied, or what the server lacks


class StyleChoice(StateObject):
    current: Observable[str] = Observable("")  # the chosen style's name ("" = none)

    styles_changed = Signal()  # styles were added, changed or deleted

    def __init__(self, store: StyleStore, model_choice: ModelChoice, settings: Any = None) -> None:
        """``settings``: where the chosen style's name is remembered (``Settings.style``)."""
        super().__init__()
        self.store = store
        self.model_choice = model_choice
        self.settings = settings
        remembered = getattr(settings, "style", "")
        if remembered and store.get(remembered) is not None:
            self.current = remembered

    @property
    def style(self) -> Style | None:
        return self.store.get(self.current) if self.current else None

    def names(self) -> list[str]:
        return [s.name for s in self.store.styles()]

    def _set_current(self, name: str) -> None:
        self.current = name
        if self.settings is not None:
            self.settings.style = name

    # Choosing ------------------------------------------------------------------------------

    def choose(self, name: str, server: Any = None) -> Applied | None:
        """Apply the style ``name`` ("" = no style: the prompt is sent as written, nothing
        else changes). ``server``: the connected server's ``ServerModels`` (None: not
        connected, nothing is checked)."""
        style = self.store.get(name) if name else None
        if style is None:
            self._set_current("")
            return None
        lacking = self._apply_model(style.model, server)
        self._apply_sampling(style.sampling, style.resolution, server, lacking)
        loras = style.loras
        if server is not None:
            have = set(server.loras)
            lacking += [f"the LoRA '{lora.name}'" for lora in loras if lora.name not in have]
            loras = tuple(lora for lora in loras if lora.name in have)
        self._set_current(style.name)
        if lacking:
            message = (
                f"Style '{style.name}': not on this server: {', '.join(lacking)}. "
                "Everything else was applied."
            )
        else:
            message = f"Style '{style.name}' applied."
        return Applied(style, loras, style.negative, message)

    def _apply_model(self, model: StyleModel, server: Any) -> list[str]:
        choice = self.model_choice
        if not model.file:
            return []
        if server is None:
            choice.select(model.file)  # checked when the server's list comes
            return []
        names = [e.name for e in choice.entries]
        if model.file in names:
            use = model.file
            lacking = []
        else:
            use = self._same_family(model)
            if use:
                lacking = [f"the model '{model.file}' (using '{use}' instead)"]
            else:
                kept = f" (kept '{choice.model}')" if choice.model else ""
                return [f"the model '{model.file}'{kept}"]
        choice.select(use)
        if use == model.file and (model.family or model.text_encoders or model.vae):
            lacking += self._apply_pieces(model, server)
        return lacking

    def _same_family(self, model: StyleModel) -> str:
        """A ready model of the style's family on the server ("" = none)."""
        family: Family | None
        try:
            family = by_id(model.family) if model.family else detect(model.file)
        except Exception:
            family = None
        if family is None:
            return ""
        found = [
            e.name
            for e in self.model_choice.entries
            if e.ready and e.family is not None and e.family.id == family.id
        ]
        return found[0] if found else ""

    def _apply_pieces(self, model: StyleModel, server: Any) -> list[str]:
        lacking = []
        encoders = tuple(t for t in model.text_encoders if t in server.text_encoders)
        lacking += [f"the text encoder '{t}'" for t in model.text_encoders if t not in encoders]
        vae = model.vae if model.vae in server.vaes else None
        if model.vae and vae is None:
            lacking.append(f"the VAE '{model.vae}'")
        try:
            self.model_choice.set_override(model.family, encoders, vae)
        except Exception:
            lacking.append(f"the model family '{model.family}'")
        return lacking

    def _apply_sampling(
        self, sampling: StyleSampling, resolution: Resolution, server: Any, lacking: list[str]
    ) -> None:
        """The style's sampling values, the family's defaults for the others."""
        choice = self.model_choice
        choice.reset_sampling()
        offered = {
            "sampler": list(getattr(server, "samplers", []) or []),
            "scheduler": list(getattr(server, "schedulers", []) or []),
        }
        for key, value in sampling.values().items():
            if offered.get(key) and value not in offered[key]:
                lacking.append(f"the {key} '{value}'")
                continue
            choice.set_sampling(key, value)
            choice.touched.add(key)  # the style's value stays when the model changes
        choice.resolution = resolution

    # Making and changing styles ---------------------------------------------------------

    def from_current(self, name: str, request: Any, template: str | None = None) -> Style:
        """A style of the docker's current values: ``request`` is the panel's request (model,
        LoRAs, negative prompt, resolution); the sampling values kept are those the painter
        (or the chosen style) set, the others stay the family's defaults."""
        choice = self.model_choice
        override = choice.override()
        current = self.style
        if template is None:
            template = current.template if current is not None else PLACEHOLDER
        values = {k: getattr(choice, k) for k in choice.touched if k != "guidance"}
        if "guidance" in choice.touched and choice.guidance_used:
            values["guidance"] = choice.guidance
        return Style(
            name=name,
            model=StyleModel(
                request.checkpoint, override.family, override.text_encoders, override.vae
            ),
            loras=tuple(request.loras),
            template=template,
            negative=request.negative_prompt,
            sampling=StyleSampling(**values),
            resolution=request.resolution,
        )

    def create(self, style: Style) -> Style:
        saved = self.store.add(style)
        self._set_current(saved.name)
        self.styles_changed.emit()
        return saved

    def update(self, old_name: str, style: Style) -> Style:
        saved = self.store.update(old_name, style)
        if self.current == old_name:
            self._set_current(saved.name)
        self.styles_changed.emit()
        return saved

    def copy(self, name: str) -> Style:
        saved = self.store.copy(name)
        self._set_current(saved.name)
        self.styles_changed.emit()
        return saved

    def delete(self, name: str) -> None:
        self.store.delete(name)
        if self.current == name:
            self._set_current("")
        self.styles_changed.emit()

    def import_file(self, path: Any) -> Style:
        saved = self.store.import_file(path)
        self.styles_changed.emit()
        return saved

    def export(self, name: str, path: Any) -> None:
        self.store.export(name, path)


def build_styles(
    settings_dir: Path | None, model_choice: ModelChoice, settings: Any
) -> StyleChoice:
    """The shipped styles and the painter's (``styles/`` in the settings folder; None: kept
    in memory only), with the chosen one remembered in ``settings``."""
    folder = settings_dir / FOLDER if settings_dir is not None else None
    return StyleChoice(StyleStore(folder, SHIPPED), model_choice, settings)
