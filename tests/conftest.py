from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"

# Run only inside Krita (by tests/test_krita_*.py), never by the outer pytest.
collect_ignore = [
    "krita/inside",
    "krita/gui_driver",
    "krita/scenarios.py",
    "krita/sitecustomize.py",
]

# Widget tests need no display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Folder for artefacts a person may want to look at (screenshots, logs)."""
    OUTPUT.mkdir(exist_ok=True)
    return OUTPUT


@pytest.fixture(scope="session")
def plugin_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin zip exactly as package.py builds it for users."""
    import package

    return package.build(tmp_path_factory.mktemp("dist"))


# Fixtures for tests against the fake ComfyUI server.
from tests.a1111_fixtures import fake_webui_server, webui, webui_client  # noqa: E402, F401
from tests.comfy_fixtures import client, fake_server, server  # noqa: E402, F401
from tests.krita_fixtures import krita_install  # noqa: E402, F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A real Krita starts in 20-60 s, longer in a chroot on a busy machine: its tests get more
    time than the default (harness.py has its own, tighter limits per launch)."""
    for item in items:
        if item.get_closest_marker("krita") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(900))
