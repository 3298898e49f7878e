"""In real Krita under Xvfb (5.1, 5.3, 6.0): results kept in the .kra come back in the docker
after the document is saved, closed and opened again, and applying one gives the same pixels."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, run_gui
from tests.krita_fixtures import profile_fixture

pytestmark = [pytest.mark.krita]


profile = profile_fixture("results", "profile")


def test_results_come_back_after_save_and_reopen(
    profile: KritaProfile, test_output: Path, fake_server: str
) -> None:
    out = test_output / f"gui-kept-results-{profile.krita.name}"
    result = run_gui(
        profile,
        "scenarios_results:kept_results_after_reopen",
        out,
        extra_env={"AI_DIFFUSION_TEST_SERVER": fake_server},
    )
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    # Keeping results is no undo step: Undo's text names none, and Undo leaves them.
    assert result["undo_after_write"] == result["undo_before_write"]
    assert result["kept_after_undo"] == "kept"
    assert result["modified_after_write"] and result["modified_after_result"]
    assert result["tooltip_after"] == result["tooltip_before"] == "[AI] a lighthouse at dusk (11)"
    assert result["modified_after_reopen"] is False
    assert result["applied"] == ["[AI] a lighthouse at dusk (11)"]
    assert result["same_pixels"] is True
    assert result["region_after"] == ["Background", "the sea at dusk"]
