"""The Kritas the real-Krita tests run in (5.1 here, 5.3 and 6.0 in chroots), and a profile
per Krita with the plugin installed from the zip, as fixtures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.krita.harness import INSTALLS, KritaInstall, KritaProfile, krita_installs, require


@pytest.fixture(scope="session", params=[k.name for k in krita_installs()])
def krita_install(request: pytest.FixtureRequest) -> KritaInstall:
    install = INSTALLS[request.param]
    require(install)
    return install


def profile_fixture(
    folder: str, name: str, prepare: Callable[[KritaProfile], None] | None = None
) -> Any:
    """A session fixture ``name``: one Krita profile per Krita for the module that defines it
    (a warm start is 3x faster), in ``krita-<folder>-<Krita>``, with the plugin installed from
    the zip and then ``prepare`` run on it. Use as ``profile = profile_fixture("e2e", "profile")``
    in a test module."""

    @pytest.fixture(scope="session", name=name)
    def profile(
        plugin_zip: Path, tmp_path_factory: pytest.TempPathFactory, krita_install: KritaInstall
    ) -> KritaProfile:
        base = tmp_path_factory.mktemp(f"krita-{folder}-{krita_install.name}")
        profile = KritaProfile.create(base, krita_install)
        profile.install_plugin(plugin_zip)
        if prepare is not None:
            prepare(profile)
        return profile

    return profile
