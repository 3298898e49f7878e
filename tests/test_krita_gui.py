"""The real Krita GUI under Xvfb (5.1, 5.3, 6.0), with the plugin installed by package.py from
the zip: it loads, and a painter finds its docker on the first start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, run_gui
from tests.krita_fixtures import profile_fixture

pytestmark = [pytest.mark.krita]


gui_profile = profile_fixture("gui", "gui_profile")


def test_docker_is_visible_in_real_krita(gui_profile: KritaProfile, test_output: Path) -> None:
    """A fresh profile, as after installing: Krita 5.3 and 6 hide new dockers, the plugin
    shows its own on this first start."""
    out = test_output / f"gui-smoke-{gui_profile.krita.name}"
    result = run_gui(gui_profile, "scenarios:docker_visible", out)
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    assert result["title"] == "AI Image Generation"
    assert result["content"] == "ai_diffusion_content"
    shot = out / "gui-smoke.png"
    assert shot.is_file() and shot.stat().st_size > 10_000
