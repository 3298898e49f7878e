"""The zip painters install: layout, vendored wheels, and that it imports in a clean Python."""

from __future__ import annotations

import configparser
import email.parser
import glob
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

import package

REQUIRED_VENDOR = [
    "websockets",
    "aiohttp",
    "multidict",
    "yarl",
    "frozenlist",
    "propcache",
    "aiosignal",
    "aiohappyeyeballs",
    "attr",
    "idna",
    "qasync",
    "keyring",
]


def test_zip_layout_matches_krita_importer(plugin_zip: Path) -> None:
    names = zipfile.ZipFile(plugin_zip).namelist()
    assert plugin_zip.name == f"ai_diffusion-{package.version()}.zip"
    assert "ai_diffusion.desktop" in names
    assert "ai_diffusion.action" in names
    assert "ai_diffusion/__init__.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    desktop = configparser.ConfigParser()
    desktop.read_string(zipfile.ZipFile(plugin_zip).read("ai_diffusion.desktop").decode())
    entry = desktop["Desktop Entry"]
    assert entry["ServiceTypes"] == "Krita/PythonPlugin"
    assert entry["X-KDE-Library"] == "ai_diffusion"
    assert entry["X-Python-2-Compatible"] == "false"


def test_vendored_wheels_are_pure_python_and_admit_python_310(plugin_zip: Path) -> None:
    zf = zipfile.ZipFile(plugin_zip)
    names = zf.namelist()
    for module in REQUIRED_VENDOR:
        assert any(n.startswith(f"ai_diffusion/vendor/{module}/") for n in names), module
    compiled = [n for n in names if n.endswith((".so", ".pyd", ".dylib"))]
    assert compiled == []
    metadata = [n for n in names if n.endswith(".dist-info/METADATA")]
    assert len(metadata) == len(package.vendor_requirements())
    for name in metadata:
        meta = email.parser.Parser().parsestr(zf.read(name).decode())
        spec = meta.get("Requires-Python")
        if spec:
            assert _admits_310(spec), f"{name}: Requires-Python {spec}"


def _admits_310(spec: str) -> bool:
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(spec).contains("3.10.0")


def _interpreters() -> list[str]:
    """Python 3.10 (Krita 5.2) and 3.13 (Krita 5.3/6) where this machine has them."""
    found = []
    for version in ("3.10", "3.13"):
        candidates = [shutil.which(f"python{version}")]
        candidates += sorted(glob.glob(f"/root/.pyenv/versions/{version}*/bin/python{version}"))
        for exe in filter(None, candidates):
            if subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0:
                found.append(exe)
                break
    return found or [sys.executable]


@pytest.mark.parametrize("python", _interpreters())
def test_vendored_set_runs_without_c_extensions(
    plugin_zip: Path, tmp_path: Path, python: str
) -> None:
    """A clean interpreter (no site-packages) imports the plugin and the vendored libraries
    from the unpacked zip and makes a real HTTP round trip with aiohttp in pure-Python mode."""
    zipfile.ZipFile(plugin_zip).extractall(tmp_path)
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.path.insert(0, sys.argv[1])
        import ai_diffusion  # puts vendor/ first on sys.path
        import aiohttp, websockets, yarl, multidict, frozenlist, propcache, keyring
        from aiohttp import web
        vendor = sys.argv[1] + "/ai_diffusion/vendor/"
        for mod in (aiohttp, websockets, yarl, multidict, frozenlist, propcache, keyring):
            assert mod.__file__.startswith(vendor), mod.__file__
        compiled = [m for m in sys.modules.values()
                    if (getattr(m, "__file__", None) or "").endswith((".so", ".pyd"))
                    and "/vendor/" in m.__file__]
        assert not compiled, compiled

        async def main():
            app = web.Application()
            app.router.add_get("/system_stats", lambda r: web.json_response({"system": {}}))
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{port}/system_stats") as r:
                    assert (await r.json()) == {"system": {}}
            await runner.cleanup()
            print("ok", sys.version_info[:2])

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [python, "-I", "-S", "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def test_install_puts_plugin_in_profile_and_enables_it(plugin_zip: Path, tmp_path: Path) -> None:
    profile = tmp_path / "krita"
    kritarc = tmp_path / "config" / "kritarc"
    kritarc.parent.mkdir()
    kritarc.write_text("[General]\nFetchNews=false\n\n[python]\nenable_other=true\n")
    package.install(plugin_zip, profile, kritarc)
    assert (profile / "pykrita" / "ai_diffusion.desktop").is_file()
    assert (profile / "pykrita" / "ai_diffusion" / "__init__.py").is_file()
    assert (profile / "pykrita" / "ai_diffusion" / "vendor" / "aiohttp").is_dir()
    assert (profile / "actions" / "ai_diffusion.action").is_file()
    text = kritarc.read_text()
    assert "FetchNews=false" in text and "enable_other=true" in text
    section = text.split("[python]")[1]
    assert "enable_ai_diffusion=true" in section
    # Installing twice changes nothing more.
    package.install(plugin_zip, profile, kritarc)
    assert kritarc.read_text().count("enable_ai_diffusion") == 1


def test_install_turns_a_disabled_plugin_on(tmp_path: Path) -> None:
    kritarc = tmp_path / "kritarc"
    kritarc.write_text("[python]\nenable_ai_diffusion=false\n")
    package.enable_in_kritarc(kritarc)
    assert kritarc.read_text() == "[python]\nenable_ai_diffusion=true\n"


def test_source_tree_has_no_vendored_files() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "ai_diffusion/vendor", "dist"],
        capture_output=True,
        text=True,
        cwd=package.ROOT,
    ).stdout
    assert tracked == ""
