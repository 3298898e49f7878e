"""Tests that run inside a real Krita's own Python (kritarunner, no display): Debian's 5.1
here, 5.3 and 6.0 (Python 3.14, PyQt6 in 6.0) in chroots."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, run_pytest_in_krita
from tests.krita_fixtures import profile_fixture

pytestmark = [pytest.mark.krita]


krita_profile = profile_fixture("profile", "krita_profile")


def test_inside_krita(krita_profile: KritaProfile, test_output: Path) -> None:
    """Every test under tests/krita/inside, run by pytest inside Krita's own Python."""
    out = test_output / f"kritarunner-{krita_profile.krita.name}"
    result = run_pytest_in_krita(krita_profile, ["inside"], out)
    assert result["returncode"] == 0, result["output"][-6000:]
    assert result["tests"] > 0 and result["failures"] == 0, result["output"][-6000:]


def test_results_kept_in_a_kra_come_back(krita_profile: KritaProfile, test_output: Path) -> None:
    """Results written into a document's annotation are in the .kra after Save, and the
    reopened document gives back the same bytes and, applied, the same pixels (issue #25)."""
    out = test_output / f"kritarunner-results-{krita_profile.krita.name}"
    result = run_pytest_in_krita(krita_profile, ["inside/test_results_kept.py"], out)
    assert result["returncode"] == 0, result["output"][-6000:]
    assert result["tests"] == 2 and result["failures"] == 0, result["output"][-6000:]
