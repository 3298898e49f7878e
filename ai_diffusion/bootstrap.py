"""Make the vendored pure-Python dependencies importable inside Krita.

``package.py`` puts the wheels the plugin needs (aiohttp, websockets, qasync, keyring …) into
``ai_diffusion/vendor/``. Krita's bundled Python has none of them, and may not load C
extensions built for another Python, so the vendored copies are pure Python and are put first
on ``sys.path``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"

# Each of these libraries has a pure-Python mode; the vendored wheels carry no C code, and the
# variables make sure nothing tries to load a stray compiled copy from elsewhere on the path.
PURE_PYTHON_SWITCHES = (
    "AIOHTTP_NO_EXTENSIONS",
    "MULTIDICT_NO_EXTENSIONS",
    "YARL_NO_EXTENSIONS",
    "FROZENLIST_NO_EXTENSIONS",
    "PROPCACHE_NO_EXTENSIONS",
)


def add_vendor_path(vendor_dir: Path = VENDOR_DIR) -> bool:
    """Put ``vendor_dir`` first on ``sys.path``; return False when there is none (dev checkout)."""
    if not vendor_dir.is_dir():
        return False
    path = str(vendor_dir)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)
    for name in PURE_PYTHON_SWITCHES:
        os.environ.setdefault(name, "1")
    return True
