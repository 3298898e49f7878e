"""The plugin's settings: one typed object, persisted as JSON. Secrets are never in it.

Sampling values (steps, CFG, sampler, scheduler) are not settings: the model family's table
(``workflow/family_table.py``) is their one source, and the painter's changes live in the
docker's state (``state/model_choice.py``). Files from older versions that still hold them
load as before; those keys (and any other unknown key) are ignored and dropped on the next
save."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FILE_NAME = "settings.json"


@dataclass
class Settings:
    server_url: str = ""
    # Kind of server: "auto" (ComfyUI or WebUI, detected), "comfyui", "a1111",
    # "runpod-serverless" or "salad" (ai_diffusion.backends.select.KINDS)
    backend_kind: str = "auto"
    serverless_endpoint: str = ""  # RunPod Serverless endpoint id
    worker_image: str = ""  # its worker image, for the model list
    own_models: str = ""  # checkpoints of a worker that cannot list them, comma-separated
    extra_servers: str = ""  # more ComfyUI addresses used at once, comma-separated
    verify_tls: bool = True
    auth_kind: str = "none"  # "none", "token" or "basic"
    username: str = ""  # basic auth user name; the password and tokens live in the key store
    session_only_secrets: bool = False  # the painter chose not to keep tokens in the key store
    checkpoint: str = ""
    prompt: str = ""  # the last prompt generated with (back when Krita starts again)
    negative_prompt: str = ""
    live_prompt: str = ""  # the last prompt live painting started with
    style: str = ""  # the chosen style's name (its files: styles/ beside this one)
    batch_size: int = 1
    idle_stop_minutes: int = 30
    live_debounce_ms: int = 300  # live painting: quiet time after a change before generating
    # The painter's family and pieces per model file (the docker's Advanced section):
    # {"model file": {"family": id or null, "text_encoders": [...], "vae": name or null}}
    model_overrides: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path) -> Settings:
        path = folder / FILE_NAME
        if not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as e:
            backup = path.with_suffix(".json.bak")
            try:
                shutil.copyfile(path, backup)
            except OSError as copy_error:
                log.warning("could not keep a copy of the settings file: %s", copy_error)
            log.warning(
                "settings file unreadable (%s); defaults used, old file kept as %s", e, backup
            )
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        values = {}
        defaults = cls()
        for key, value in data.items():
            if key in known and type(value) is type(getattr(defaults, key)):
                values[key] = value
        return cls(**values)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / FILE_NAME
        tmp = path.with_suffix(".json.tmp")
        values = asdict(self)
        # A second line of defence: a password pasted into the address never lands here (the
        # docker moves it to the password store first).
        values["server_url"] = _without_userinfo(self.server_url)
        tmp.write_text(json.dumps(values, indent=2), encoding="utf-8")
        tmp.replace(path)


def _without_userinfo(url: str) -> str:
    scheme, sep, rest = url.rpartition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rsplit('@', 1)[-1]}{slash}{path}"
