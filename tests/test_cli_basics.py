from __future__ import annotations

import subprocess
import sys

from ai_diffusion.version import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_commands() -> None:
    result = _run("--help")
    assert result.returncode == 0
    assert "version" in result.stdout


def test_version_prints_the_plugin_version() -> None:
    result = _run("version")
    assert result.returncode == 0
    assert result.stdout.startswith(f"ai_diffusion {__version__}")


def test_package_imports_without_krita_or_qt() -> None:
    code = (
        "import sys, ai_diffusion; assert 'krita' not in sys.modules; "
        "assert not any(m.startswith('PyQt') for m in sys.modules); print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
