"""Tests that run inside Debian's real Krita (kritarunner, no display)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.krita.harness import KritaProfile, krita_available, run_pytest_in_krita

pytestmark = [
    pytest.mark.krita,
    pytest.mark.skipif(
        not krita_available(), reason="Krita is not installed (scripts/test.sh installs it)"
    ),
]


@pytest.fixture(scope="session")
def krita_profile(plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> KritaProfile:
    profile = KritaProfile.create(tmp_path_factory.mktemp("krita-profile"))
    profile.install_plugin(plugin_zip)
    return profile


def test_inside_krita(krita_profile: KritaProfile, test_output: Path) -> None:
    """Every test under tests/krita/inside, run by pytest inside Krita's own Python."""
    result = run_pytest_in_krita(krita_profile, ["inside"], test_output / "kritarunner")
    assert result["returncode"] == 0, result["output"][-6000:]
    assert result["tests"] > 0 and result["failures"] == 0, result["output"][-6000:]
