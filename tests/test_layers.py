"""The layer rules of docs/architecture.md, checked on the import graph (every ``import`` in
every module, including those inside functions): a lower layer never imports a higher one,
``krita`` only in the adapter, Qt only through ``ai_diffusion.qt``, widgets only over state."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ai_diffusion"
BASE = {"errors", "logs", "version"}  # plain helpers every layer may use

# module or package (as "a.b", relative to ai_diffusion) → what it may import from the plugin;
# the most specific entry wins. "*" = anything (the composition root).
ALLOWED: dict[str, set[str]] = {
    "request": set(),
    "canvas": {"request"},
    "workflow": {"request", "workflow"},
    "comfy": {"request", "workflow", "comfy"},
    "backends": {"request", "comfy", "workflow", "cloud", "backends"},
    "cloud": {"comfy", "cloud"},
    # The program the plugin starts on the pods it rents; runs there, imports nothing of ours.
    "pod_gateway": set(),
    "secrets": set(),
    "settings": set(),
    "qt": set(),
    "eventloop": {"qt"},
    "handover": {"qt"},
    "krita_adapter.document": {"request", "qt", "canvas", "krita_adapter.upscaled"},
    "krita_adapter.upscaled": {"request"},
    "krita_adapter.dock_room": {"qt"},
    "krita_adapter.plugin": {"*"},
    "krita_adapter": {"krita_adapter"},
    "state": {
        "qt",
        "comfy",
        "cloud",
        "workflow",
        "request",
        "backends",
        "secrets",
        "settings",
        "canvas",
        "eventloop",
        "handover",
        "pod_gateway",
        "state",
    },
    "ui": {"qt", "state", "ui"},
    "cli": {"request", "workflow", "comfy", "cloud", "backends", "secrets", "pod_gateway", "cli"},
    # Plugin entry: Krita loads the package; it finds the adapter or says why it cannot.
    "__init__": {"bootstrap", "krita_adapter", "load_failure"},
    "__main__": {"cli"},
    "bootstrap": set(),
    "errors": set(),
    "logs": set(),
    "version": set(),
    "load_failure": {"qt"},
}
# Third-party packages and who may import them.
THIRD_PARTY = {
    "krita": {"krita_adapter", "load_failure", "qt"},  # qt: asks Krita which Qt it embeds
    "PyQt5": {"qt"},
    "PyQt6": {"qt"},
    "numpy": {"cli"},
    "PIL": {"cli"},
    "aiohttp": {"comfy", "backends", "cloud", "pod_gateway"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split(".")) if dotted else PACKAGE
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path, text: str) -> set[str]:
    """What ``path`` imports: plugin modules relative to ai_diffusion, else top-level names."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if module == "__init__":
        package = []
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                if name == "ai_diffusion" or name.startswith("ai_diffusion."):
                    found.add(name.removeprefix("ai_diffusion").lstrip("."))
                else:
                    found.add("~" + name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "ai_diffusion":
                target = node.module.removeprefix("ai_diffusion").lstrip(".")
            else:
                found.add("~" + (node.module or "").split(".")[0])
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                found.add(sub if _is_module(sub) else target)
    return found


def _rule(module: str, table: dict[str, set[str]]) -> set[str] | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in table:
            return table[key]
    return None


def violations(added: dict[str, str] | None = None) -> list[str]:
    """Every import that breaks a rule; ``added`` appends lines to modules (new or not)."""
    added = added or {}
    found = []
    paths = {*PACKAGE.rglob("*.py"), *(PACKAGE / name for name in added)}
    for path in sorted(paths):
        if "vendor" in path.relative_to(PACKAGE).parts:
            continue
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        extra = added.get(path.relative_to(PACKAGE).as_posix())
        if extra:
            text += "\n" + extra + "\n"
        module = _module_name(path)
        allowed = _rule(module, ALLOWED)
        if allowed is None:
            found.append(f"{module}: in no layer (add it to docs/architecture.md and ALLOWED)")
            continue
        for target in sorted(imports(path, text)):
            if target.startswith("~"):
                name = target[1:]
                owners = THIRD_PARTY.get(name)
                if owners is not None and module.split(".")[0] not in owners:
                    found.append(f"{module} imports {name}")
                continue
            unit = target.split(".")[0] if target else ""
            if "*" in allowed or unit in BASE or unit in allowed:
                continue
            if _rule(target, {k: {k} for k in allowed}) is not None:
                continue  # e.g. krita_adapter.document allowed by name
            found.append(f"{module} imports {target}")
    return found


def test_every_module_keeps_to_its_layer() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("module", "line", "rule"),
    [
        ("ui/_probe.py", "from ..comfy import ServerConfig", "ui._probe imports comfy"),
        ("ui/_probe.py", "from ..settings import Settings", "ui._probe imports settings"),
        ("ui/_probe.py", "from .. import secrets", "ui._probe imports secrets"),
        ("state/_probe.py", "from ..ui import docker_widget", "imports ui.docker_widget"),
        ("krita_adapter/document.py", "from ..state import controller", "state.controller"),
        ("request.py", "from .qt import QtCore", "request imports qt"),
        ("workflow/_probe.py", "import krita", "workflow._probe imports krita"),
        ("state/_probe.py", "from PyQt5 import QtCore", "state._probe imports PyQt5"),
        ("cloud/_probe.py", "from ai_diffusion.backends import pool", "imports backends.pool"),
        ("_probe.py", "import os", "_probe: in no layer"),
    ],
)
def test_a_forbidden_import_is_caught(module, line, rule) -> None:
    """The check goes red when a rule is broken."""
    found = violations({module: line})
    assert any(rule in v for v in found), found
