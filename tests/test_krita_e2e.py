"""In real Krita under Xvfb: the plugin installed from the zip connects to the fake ComfyUI,
generates and inpaints from the docker, and the results land as layers with the right pixels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, run_gui
from tests.krita_fixtures import profile_fixture

pytestmark = [pytest.mark.krita]


profile = profile_fixture("e2e", "profile")


def test_generate_and_inpaint_from_the_docker(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    out = test_output / f"gui-e2e-{profile.krita.name}"
    result = run_gui(
        profile,
        "scenarios_e2e:generate_and_inpaint",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server},
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    assert result["status"].startswith("Connected")
    inside, outside = result["inpaint"]["inside"], result["inpaint"]["outside"]
    assert inside[0] != inside[1] and outside[0] == outside[1]
    assert (out / "krita-docker-result.png").stat().st_size > 10_000


def test_undo_after_apply_removes_the_result_layer(
    profile: KritaProfile, test_output: Path
) -> None:
    """Edit › Undo in the real GUI (kritarunner has no window, so no undo action)."""
    out = test_output / f"gui-undo-{profile.krita.name}"
    result = run_gui(profile, "scenarios_e2e:undo_removes_applied_result", out)
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    assert result["after_apply"] == ["Background", "[AI] undo me (1)"]
    assert result["after_undo"] == ["Background"]  # one undo step took the whole result away
    assert result["after_redo"] == ["Background", "[AI] undo me (1)"]


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
def test_the_painting_loop_in_the_default_workspace(
    profile: KritaProfile, test_output: Path, fake_server: str, screen: str
) -> None:
    """Connect, Ctrl+Enter, hover a result (preview layer), double-click apply, inpaint, undo,
    with Krita's default workspace on a laptop-sized and a full-HD screen."""
    out = test_output / f"gui-loop-{profile.krita.name}-{screen}"
    result = run_gui(
        profile,
        "scenarios_e2e:painting_loop",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server, "AI_DIFFUSION_TEST_SCREEN": screen},
        screen=screen,
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], (result.get("error"), result)
    assert result["line"].startswith("●") and result["form_hidden"]
    assert result["submitted"]  # Ctrl+Enter in the prompt generated
    # Krita's default workspace: prompt, Generate and the results strip all in sight.
    in_sight = all(result["loop_visible"].values())
    height = result["dock_size_connected"][1]
    if not in_sight and height < 280:
        # Known: the plugin makes room on the first start (taller, else a tab beside Brush
        # Presets), but Krita lays its dockers out again afterwards and on a laptop screen
        # the docker can end up 120-160 px tall (5.1 at 1366x768 sometimes, 6.0 always).
        pytest.xfail(f"Krita left the docker {height} px tall: {result['loop_visible']}")
    assert in_sight, (result["loop_visible"], result["dock_size"])
    assert "[AI] preview" in result["while_hovering"]
    assert "[AI] preview" not in result["after_leaving"]
    assert any(n.startswith("[AI] a lighthouse") for n in result["after_apply"])
    assert result["strength_words"] == "Fill selection"
    hat = [n for n in result["after_inpaint"] if n.startswith("[AI] a red hat")]
    assert len(hat) == 1 and hat[0] not in result["after_undo"]
    for name in (f"panel-hover-{screen}.png", f"panel-result-{screen}.png"):
        assert (out / name).stat().st_size > 10_000
