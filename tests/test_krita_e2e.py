"""In real Krita under Xvfb: the plugin installed from the zip connects to the fake ComfyUI,
generates and inpaints from the docker, and the results land as layers with the right pixels."""

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


def test_generate_and_inpaint_from_the_docker(
    plugin_zip: Path, tmp_path: Path, test_output: Path, fake_server: str
) -> None:
    profile = KritaProfile.create(tmp_path)
    profile.install_plugin(plugin_zip)
    out = test_output / "gui-e2e"
    result = run_gui(
        profile,
        "scenarios_e2e:generate_and_inpaint",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server},
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["ok"], result.get("error")
    assert result["status"].startswith("Connected")
    inside, outside = result["inpaint"]["inside"], result["inpaint"]["outside"]
    assert inside[0] != inside[1] and outside[0] == outside[1]
    assert (out / "krita-docker-result.png").stat().st_size > 10_000
