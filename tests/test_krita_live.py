"""In real Krita under Xvfb: live painting from the docker follows strokes painted through the
Krita API on the [AI] live layer, Keep adds a layer, Stop removes the live layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, run_gui
from tests.krita_fixtures import profile_fixture

pytestmark = [pytest.mark.krita]


profile = profile_fixture("live", "profile")


def test_live_layer_follows_strokes(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    out = test_output / f"gui-live-{profile.krita.name}"
    result = run_gui(
        profile,
        "scenarios_live:paint_live",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server},
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    assert result["first"][-1] == "[AI] live"  # above the painting
    assert result["updates"] >= 1 and result["sent_after_strokes"] >= 1
    assert result["after_strokes"].count("[AI] live") == 1
    assert result["sketch_untouched"] and result["stroke_kept"]  # painter's layer unchanged
    kept = [n for n in result["after_keep"] if n.startswith("[AI] a red barn")]
    assert len(kept) == 1, result["after_keep"]
    assert "[AI] live" not in result["after_stop"] and kept[0] in result["after_stop"]
