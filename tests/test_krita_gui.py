"""The real Krita GUI under Xvfb, with the plugin installed by package.py from the zip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, krita_available, run_gui

pytestmark = [
    pytest.mark.krita,
    pytest.mark.skipif(
        not krita_available(), reason="Krita is not installed (scripts/test.sh installs it)"
    ),
]


@pytest.fixture(scope="session")
def gui_profile(plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> KritaProfile:
    profile = KritaProfile.create(tmp_path_factory.mktemp("krita-gui"))
    profile.install_plugin(plugin_zip)
    return profile


def test_docker_is_visible_in_real_krita(gui_profile: KritaProfile, test_output: Path) -> None:
    out = test_output / "gui-smoke"
    result = run_gui(gui_profile, "scenarios:docker_visible", out)
    assert result["exceptions"] == "", result["exceptions"]
    assert result["ok"], result.get("error")
    assert result["title"] == "AI Image Generation"
    assert result["content"] == "ai_diffusion_content"
    shot = out / "gui-smoke.png"
    assert shot.is_file() and shot.stat().st_size > 10_000
