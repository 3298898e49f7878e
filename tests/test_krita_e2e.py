"""In real Krita under Xvfb: the plugin installed from the zip connects to the fake ComfyUI,
generates and inpaints from the docker, and the results land as layers with the right pixels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaInstall, KritaProfile, run_gui
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
    """Edit › Undo in the real GUI (kritarunner has no window, so no undo action); hovering
    over results leaves the painter's undo history alone."""
    out = test_output / f"gui-undo-{profile.krita.name}"
    result = run_gui(profile, "scenarios_e2e:undo_removes_applied_result", out)
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    assert result["after_apply"] == ["Background", "painter's layer", "[AI] undo me (1)"]
    first, second, third = result["undone"]
    assert "[AI] undo me (1)" not in first  # one undo step took the whole result away
    # Twenty hovers cost one step (the preview layer's creation): the third Undo already
    # reaches the painter's own step.
    assert "painter's layer" in second and "painter's layer" not in third, result["undone"]
    assert result["after_redo"] == ["Background", "painter's layer", "[AI] undo me (1)"]


@pytest.fixture
def first_start(
    plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory, krita_install: KritaInstall
) -> KritaProfile:
    """A profile Krita has never started with: its default workspace, the plugin's first
    start (the other tests here change the layout, and Krita keeps it)."""
    base = tmp_path_factory.mktemp(f"krita-first-{krita_install.name}")
    profile = KritaProfile.create(base, krita_install)
    profile.install_plugin(plugin_zip)
    return profile


def _loop_in_sight(result: dict) -> None:
    """Prompt, Generate and the results strip all in sight, whole, without scrolling."""
    hidden = {name: shown for name, shown in result["loop_shown"].items() if shown[0] < shown[1]}
    assert not hidden, (hidden, result["dock_size_connected"], result["docks"])


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
def test_the_painting_loop_in_the_default_workspace(
    first_start: KritaProfile, test_output: Path, fake_server: str, screen: str
) -> None:
    """Connect, Ctrl+Enter, hover a result (preview layer), double-click apply, inpaint, undo,
    with Krita's default workspace on a laptop-sized and a full-HD screen."""
    out = test_output / f"gui-loop-{first_start.krita.name}-{screen}"
    result = run_gui(
        first_start,
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
    # The first start in Krita's default workspace, the layout as the plugin left it.
    _loop_in_sight(result)
    assert "[AI] preview" in result["while_hovering"]
    assert "[AI] preview" not in result["after_leaving"]
    assert any(n.startswith("[AI] a lighthouse") for n in result["after_apply"])
    assert result["strength_words"] == "Fill selection"
    hat = [n for n in result["after_inpaint"] if n.startswith("[AI] a red hat")]
    assert len(hat) == 1 and hat[0] not in result["after_undo"]
    for name in (f"panel-hover-{screen}.png", f"panel-result-{screen}.png"):
        assert (out / name).stat().st_size > 10_000


def test_the_loop_has_room_when_the_first_document_comes_in_a_later_session(
    first_start: KritaProfile, test_output: Path, fake_server: str
) -> None:
    """Krita 5.3 and 6 show their other dockers only with a document: a painter who closes
    Krita before opening one still gets the room with the first document of the next start."""
    screen = "1366x768"
    out = test_output / f"gui-later-{first_start.krita.name}"
    first = run_gui(first_start, "scenarios_e2e:closed_without_a_document", out, screen=screen)
    assert first["ok"], (first.get("error"), first)
    assert first["exceptions"] == "" and first["log_errors"] == []
    result = run_gui(
        first_start,
        "scenarios_e2e:painting_loop",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server, "AI_DIFFUSION_TEST_SCREEN": screen},
        screen=screen,
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["ok"], (result.get("error"), result)
    _loop_in_sight(result)


def _against_the_fake(
    profile: KritaProfile, test_output: Path, fake_server: str, scenario: str
) -> dict:
    """``scenarios_e2e:<scenario>`` against the fake ComfyUI, ended with no exception, no
    error in Krita's log and the scenario's own checks passed; its result for the test's."""
    out = test_output / f"gui-{scenario}-{profile.krita.name}"
    result = run_gui(
        profile,
        f"scenarios_e2e:{scenario}",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server},
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    return result


def test_workflow_mode_runs_a_workflow_on_the_canvas(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    result = _against_the_fake(profile, test_output, fake_server, "workflow_mode")
    assert result["controls"] == ["QSpinBox", "QDoubleSpinBox"]
    assert result["limits"] == [1, 10000, 0.0, 100.0]
    assert result["result_name"] == "Painted"
    assert "Painted" in result["layers"], result["layers"]
    # The second run updates "Painted": same layers, the new result's pixels in it.
    painted, first = result["first_pixel"]
    assert painted == first
    updated = result["updated"]
    assert updated["layers"] == result["layers"], updated
    assert updated["pixel"] == updated["result"] != first, updated
    assert "Updated layer 'Painted'" in updated["message"]
    # Two Undos: the layer as the first Apply left it.
    assert result["undone"] == {"layers": result["layers"], "pixel": first}, result["undone"]


def test_two_regions_change_two_areas(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    result = _against_the_fake(profile, test_output, fake_server, "regions")
    assert result["region_rows"] == ["Barn", "Sky"]
    (barn, middle, sky), (barn2, middle2, sky2) = result["plain"], result["regional"]

    def apart(first: list[int], second: list[int]) -> int:
        return max(abs(a - b) for a, b in zip(first, second, strict=True))

    assert apart(middle, middle2) <= 2, (middle, middle2)
    assert apart(barn, barn2) > 10, (barn, barn2)
    assert apart(sky, sky2) > 10, (sky, sky2)
    assert barn2 != sky2


def test_upscale_doubles_the_canvas_and_two_undos_restore_it(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    result = _against_the_fake(profile, test_output, fake_server, "upscale")
    assert result["size_text"] == "128×96 → 256×192"
    width, height, names = result["after"]
    assert (width, height) == (256, 192) and len(names) == 2, result["after"]
    assert result["top_pixel"][3] == 255  # the upscaled picture covers the canvas
    first, second = result["undone"]
    assert first[:2] == [256, 192] and len(first[2]) == 1, first  # the result is gone
    assert second[:2] == [128, 96], second  # then the size is back


def test_a_style_is_picked_used_exported_and_imported(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    result = _against_the_fake(profile, test_output, fake_server, "styles")
    shown, message = result["chosen"]
    assert shown == "SD1.5 painterly" and "not on this server" in message, result["chosen"]
    assert "random-sd15-tiny" in message  # the server's SD1.5 model is used
    prompt, style = result["result"]
    assert prompt.startswith("a farm, oil painting") and style == "SD1.5 painterly"
    assert result["after_delete"] is False
    copy, current, listed = result["imported"]
    assert copy == current and listed, result["imported"]
    assert result["template_back"].startswith("{prompt}, oil painting")
