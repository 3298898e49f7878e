"""``<lora:name:weight>`` in prompt text, resolved against the server's LoRA files."""

from __future__ import annotations

import difflib
import re
from pathlib import PurePosixPath

from ..request import InvalidRequest, LoraRef

LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([-+]?\d*\.?\d+))?>", re.IGNORECASE)


def extract_loras(prompt: str) -> tuple[str, list[LoraRef]]:
    """Remove ``<lora:…>`` tags from ``prompt``; return the clean text and the LoRAs named."""
    found = [
        LoraRef(m.group(1).strip(), float(m.group(2) or 1.0)) for m in LORA_TAG.finditer(prompt)
    ]
    text = LORA_TAG.sub("", prompt)
    text = re.sub(r"\s*,\s*(,\s*)+", ", ", text)
    text = re.sub(r"\s{2,}", " ", text).strip().strip(",").strip()
    return text, found


def _stem(filename: str) -> str:
    path = PurePosixPath(filename.replace("\\", "/"))
    return path.name.rsplit(".", 1)[0] if "." in path.name else path.name


def resolve_lora(name: str, available: list[str]) -> str:
    """The server's file for ``name``: exact file name, or file name stem, case-insensitive
    (with or without subfolder). Unknown names are an error listing close matches."""
    wanted = name.replace("\\", "/").lower()
    for filename in available:
        if filename.replace("\\", "/").lower() == wanted:
            return filename
    stem = _stem(wanted)
    by_stem = [f for f in available if _stem(f).lower() in (stem, wanted)]
    if by_stem:
        return by_stem[0]
    stems = {_stem(f).lower(): f for f in available}
    close = difflib.get_close_matches(stem, list(stems), n=3, cutoff=0.5)
    if close:
        hint = "Did you mean " + ", ".join(f"'{_stem(stems[c])}'" for c in close) + "?"
    elif available:
        hint = f"The server has {len(available)} LoRAs; none is close to that name."
    else:
        hint = "The server has no LoRAs; copy the file into its models/loras folder, then Refresh."
    raise InvalidRequest(f"LoRA '{name}' is not on the server. {hint}")
