"""The Kritas the real-Krita tests run in (5.1 here, 5.3 and 6.0 in chroots), as a fixture."""

from __future__ import annotations

import pytest

from tests.krita.harness import INSTALLS, KritaInstall, krita_installs, require


@pytest.fixture(scope="session", params=[k.name for k in krita_installs()])
def krita_install(request: pytest.FixtureRequest) -> KritaInstall:
    install = INSTALLS[request.param]
    require(install)
    return install
