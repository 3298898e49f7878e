"""Styles: a painter's saved looks, as plain data (no Qt).

A :class:`Style` holds a model (with the painter's family and pieces, as the docker's model
choice keeps them), LoRAs with strengths, a prompt template with ``{prompt}``, a negative
prompt, sampling values (unset ones are the model family's defaults: the family table stays
their one source) and the resolution. A style is a small JSON file with a ``version``;
unknown fields are ignored, and a file that cannot be read is one :class:`StyleError` in the
painter's words.

:class:`StyleStore` keeps the painter's styles in the settings folder, one file each
(``styles/<name>.json``), beside the shipped ones (``style_defaults.py``), which cannot be
changed or deleted but can be copied.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..request import LoraRef, Resolution

log = logging.getLogger(__name__)
VERSION = 1
FOLDER = "styles"
PLACEHOLDER = "{prompt}"
SAMPLING_KEYS = ("steps", "cfg", "guidance", "sampler", "scheduler")
EXPORTED = "Choose a style file exported from the plugin (Style menu › Export…)."


class StyleError(UserError):
    """A style that cannot be read, saved or changed, in the painter's words."""


@dataclass(frozen=True)
class StyleModel:
    """The model file (a checkpoint or a diffusion model; "" = keep the current one) and the
    painter's family and pieces for it (None / () = found by the family's rules)."""

    file: str = ""
    family: str | None = None
    text_encoders: tuple[str, ...] = ()
    vae: str | None = None


@dataclass(frozen=True)
class StyleSampling:
    """Sampling values the style sets; None = the model family's default."""

    steps: int | None = None
    cfg: float | None = None
    guidance: float | None = None
    sampler: str | None = None
    scheduler: str | None = None

    def values(self) -> dict[str, Any]:
        """The values the style sets, by ``ModelChoice`` field name."""
        return {k: getattr(self, k) for k in SAMPLING_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class Style:
    name: str
    model: StyleModel = StyleModel()
    loras: tuple[LoraRef, ...] = ()
    template: str = PLACEHOLDER  # the painter's prompt goes where {prompt} is
    negative: str = ""
    sampling: StyleSampling = StyleSampling()
    resolution: Resolution = Resolution()
    shipped: bool = field(default=False, compare=False)  # comes with the plugin (not saved)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loras", tuple(self.loras))

    def wrap(self, prompt: str) -> str:
        return apply_template(self.template, prompt)

    # JSON ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        m = self.model
        return {
            "version": VERSION,
            "name": self.name,
            "model": {
                "file": m.file,
                "family": m.family,
                "text_encoders": list(m.text_encoders),
                "vae": m.vae,
            },
            "loras": [{"name": lora.name, "strength": lora.strength} for lora in self.loras],
            "prompt_template": self.template,
            "negative_prompt": self.negative,
            "sampling": self.sampling.values(),
            "resolution": {
                "scale": self.resolution.scale,
                "own_size": self.resolution.own_size,
            },
        }

    def to_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> Style:
        """A style from its JSON; raises ``ValueError`` saying what is wrong (callers turn it
        into a :class:`StyleError` naming the file)."""
        if not isinstance(data, dict) or "version" not in data or "name" not in data:
            raise ValueError("it is not a style file")
        version = data["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("its version is not a number")
        if version > VERSION:
            raise ValueError("it was made by a newer version of the plugin: update the plugin")
        name = _text(data["name"], "name").strip()
        if not name:
            raise ValueError("it has no name")
        model = _object(data.get("model"), "model")
        sampling = _object(data.get("sampling"), "sampling")
        resolution = _object(data.get("resolution"), "resolution")
        scale = _number(resolution.get("scale", 1.0), "resolution scale")
        if not 0.25 <= scale <= 4.0:
            raise ValueError("its resolution scale is not between 25% and 400%")
        return cls(
            name=name,
            model=StyleModel(
                file=_text(model.get("file") or "", "model file"),
                family=_optional_text(model.get("family"), "model family"),
                text_encoders=tuple(
                    _text(t, "text encoder") for t in _list(model.get("text_encoders"), "text")
                ),
                vae=_optional_text(model.get("vae"), "VAE"),
            ),
            loras=tuple(_lora(item) for item in _list(data.get("loras"), "loras")),
            template=_text(data.get("prompt_template", PLACEHOLDER), "prompt template"),
            negative=_text(data.get("negative_prompt", ""), "negative prompt"),
            sampling=_sampling(sampling),
            resolution=Resolution(scale, _flag(resolution.get("own_size", False), "own size")),
        )

    @classmethod
    def from_text(cls, text: str, source: str = "the style file") -> Style:
        """A style from a file's text; a bad one is one :class:`StyleError` naming ``source``."""
        try:
            return cls.from_json(json.loads(text))
        except json.JSONDecodeError:
            reason = "it is not JSON"
        except (ValueError, RecursionError) as e:
            reason = str(e)
        raise StyleError(f"The style file {source} can't be used: {reason}. {EXPORTED}")


def apply_template(template: str, prompt: str) -> str:
    """The painter's prompt in the style's template: put where ``{prompt}`` stands, else the
    template is added after it. An empty prompt leaves no stray commas."""
    template, prompt = template.strip(), prompt.strip()
    if not template:
        return prompt
    if PLACEHOLDER in template:
        text = template.replace(PLACEHOLDER, prompt)
    else:
        text = f"{prompt}, {template}" if prompt else template
    return re.sub(r"^[\s,]+|[\s,]+$", "", re.sub(r"(,\s*){2,}", ", ", text))


# Reading JSON values, each wrong type in words -----------------------------------------------


def _object(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"its {what} is not a group of values")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"its {what} is not a list")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"its {what} is not text")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None or value == "" else _text(value, what)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"its {what} is not a number")
    return float(value)


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"its {what} is not true or false")
    return value


def _lora(item: Any) -> LoraRef:
    item = _object(item, "LoRA")
    name = _text(item.get("name"), "LoRA name").strip()
    strength = _number(item.get("strength", 1.0), f"strength of LoRA '{name}'")
    if not name:
        raise ValueError("a LoRA has no name")
    if not -100.0 <= strength <= 100.0:
        raise ValueError(f"the strength of LoRA '{name}' is not between -100 and 100")
    return LoraRef(name, strength)


def _sampling(data: dict[str, Any]) -> StyleSampling:
    values: dict[str, Any] = {}
    steps = data.get("steps")
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 10000:
            raise ValueError("its steps are not a whole number between 1 and 10000")
        values["steps"] = steps
    for key, what in (("cfg", "CFG"), ("guidance", "guidance")):
        if data.get(key) is not None:
            number = _number(data[key], what)
            if not 0.0 <= number <= 100.0:
                raise ValueError(f"its {what} is not between 0 and 100")
            values[key] = number
    for key in ("sampler", "scheduler"):
        values[key] = _optional_text(data.get(key), key)
    return StyleSampling(**values)


# The store ---------------------------------------------------------------------------------


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or "Name (2)", "Name (3)"… if it is taken (case does not count)."""
    lower = {t.casefold() for t in taken}
    if name.casefold() not in lower:
        return name
    base = re.sub(r" \(\d+\)$", "", name)
    n = 2
    while f"{base} ({n})".casefold() in lower:
        n += 1
    return f"{base} ({n})"


def _file_stem(name: str) -> str:
    stem = re.sub(r"[^\w\- ]+", "", name, flags=re.UNICODE).strip().replace(" ", "_")
    return stem[:60] or "style"


class StyleStore:
    """The shipped styles and the painter's own, which live in ``folder`` (None: in memory
    only). Files that cannot be read are left alone and listed in ``problems``."""

    def __init__(self, folder: Path | None, shipped: tuple[Style, ...] = ()) -> None:
        self.folder = folder
        self.shipped = tuple(replace(s, shipped=True) for s in shipped)
        self.own: dict[str, Style] = {}
        self.paths: dict[str, Path] = {}
        self.problems: list[str] = []
        self.load()

    def load(self) -> None:
        self.own, self.paths, self.problems = {}, {}, []
        if self.folder is None or not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            try:
                style = Style.from_text(path.read_text(encoding="utf-8"), f"'{path.name}'")
            except (OSError, UnicodeDecodeError):
                self.problems.append(f"The style file '{path.name}' can't be read. {EXPORTED}")
                continue
            except StyleError as e:
                self.problems.append(e.message)
                continue
            name = unique_name(style.name, self.names())
            self.own[name] = replace(style, name=name)
            self.paths[name] = path

    # Reading ---------------------------------------------------------------------------------

    def names(self) -> set[str]:
        return {s.name for s in self.shipped} | set(self.own)

    def styles(self) -> list[Style]:
        """The shipped styles first, then the painter's, by name."""
        own = sorted(self.own.values(), key=lambda s: s.name.casefold())
        return [*self.shipped, *own]

    def get(self, name: str) -> Style | None:
        return next((s for s in self.styles() if s.name == name), None)

    def is_shipped(self, name: str) -> bool:
        return any(s.name == name for s in self.shipped)

    # Changing --------------------------------------------------------------------------------

    def add(self, style: Style) -> Style:
        """Saves ``style`` as one of the painter's; a taken name becomes "Name (2)"."""
        name = unique_name(style.name.strip() or "Style", self.names())
        saved = replace(style, name=name, shipped=False)
        self._write(saved, None)
        return saved

    def update(self, old_name: str, style: Style) -> Style:
        """Changes the painter's style ``old_name`` (its name too)."""
        if self.is_shipped(old_name):
            raise StyleError(
                f"'{old_name}' comes with the plugin and can't be changed: save a copy of it "
                "and change that."
            )
        if old_name not in self.own:
            raise StyleError(f"There is no style named '{old_name}' any more.")
        name = style.name.strip()
        if not name:
            raise StyleError("Give the style a name.")
        if name.casefold() != old_name.casefold() and name.casefold() in {
            n.casefold() for n in self.names()
        }:
            raise StyleError(f"A style named '{name}' exists already: choose another name.")
        saved = replace(style, name=name, shipped=False)
        old_path = self.paths.pop(old_name, None)
        old = self.own.pop(old_name)
        try:
            self._write(saved, old_path)
        except StyleError:
            self.own[old_name] = old
            if old_path is not None:
                self.paths[old_name] = old_path
            raise
        return saved

    def copy(self, name: str) -> Style:
        style = self.get(name)
        if style is None:
            raise StyleError(f"There is no style named '{name}' any more.")
        return self.add(replace(style, name=f"{style.name} (copy)"))

    def delete(self, name: str) -> None:
        if self.is_shipped(name):
            raise StyleError(
                f"'{name}' comes with the plugin and can't be deleted (you can copy it)."
            )
        self.own.pop(name, None)
        path = self.paths.pop(name, None)
        if path is not None:
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                raise StyleError(f"The style file '{path}' can't be deleted: {e.strerror}.") from e

    def export(self, name: str, path: Path) -> None:
        style = self.get(name)
        if style is None:
            raise StyleError(f"There is no style named '{name}' any more.")
        try:
            path.write_text(style.to_text(), encoding="utf-8")
        except OSError as e:
            raise StyleError(
                f"The style can't be written to '{path}': {e.strerror}. Choose another folder."
            ) from e

    def import_file(self, path: Path) -> Style:
        """Reads a style file and saves it as one of the painter's ("Name (2)" if taken)."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = getattr(e, "strerror", None) or "it is not a text file"
            raise StyleError(f"The style file '{path.name}' can't be read: {reason}.") from e
        return self.add(Style.from_text(text, f"'{path.name}'"))

    def _write(self, style: Style, old_path: Path | None) -> None:
        self.own[style.name] = style
        if self.folder is None:
            return
        taken = {p for n, p in self.paths.items() if n != style.name}
        stem = _file_stem(style.name)
        path = self.folder / f"{stem}.json"
        n = 2
        while path in taken or (path.exists() and path != old_path):
            path = self.folder / f"{stem}-{n}.json"
            n += 1
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(style.to_text(), encoding="utf-8")
            tmp.replace(path)
            if old_path is not None and old_path != path:
                old_path.unlink(missing_ok=True)
        except OSError as e:
            del self.own[style.name]
            raise StyleError(
                f"The style '{style.name}' can't be saved in '{self.folder}': {e.strerror}."
            ) from e
        self.paths[style.name] = path
