"""Build the plugin zip and install it into a Krita profile.

    python package.py                      build dist/ai_diffusion-<version>.zip
    python package.py install [--profile DIR] [--kritarc FILE]
                                           build, then install into Krita and enable it

The zip holds ``ai_diffusion.desktop``, ``ai_diffusion.action`` and the ``ai_diffusion/`` folder
at its root: the layout of Krita's *Tools > Scripts > Import Python Plugin from File*. The
pure-Python wheels listed in ``vendor-requirements.txt`` are unpacked into
``ai_diffusion/vendor/`` inside the zip (never into the source tree).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = "ai_diffusion"
WHEEL_CACHE = ROOT / "build" / "wheels"
VENDOR_PYTHON = "3.10"  # oldest Python bundled by a supported Krita (5.2)
SKIP_DIRS = {"__pycache__", "vendor"}
SKIP_SUFFIXES = {".pyc", ".pyo"}


def version() -> str:
    text = (ROOT / PACKAGE / "version.py").read_text(encoding="utf-8")
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not match:
        raise SystemExit("ai_diffusion/version.py has no __version__")
    return match.group(1)


def vendor_requirements() -> list[str]:
    lines = (ROOT / "vendor-requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _wheel_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def download_wheels(cache: Path = WHEEL_CACHE) -> list[Path]:
    """Download (once) the pinned pure-Python wheels for Python 3.10, any platform."""
    requirements = vendor_requirements()
    cache.mkdir(parents=True, exist_ok=True)
    wanted = {_wheel_key(r.split("==")[0]): r.split("==")[1] for r in requirements}
    present = {}
    for wheel in cache.glob("*.whl"):
        name, ver = wheel.name.split("-")[:2]
        if wanted.get(_wheel_key(name)) == ver:
            present[_wheel_key(name)] = wheel
    missing = [r for r in requirements if _wheel_key(r.split("==")[0]) not in present]
    if missing:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--only-binary=:all:", "--platform", "any", "--implementation", "py"]
        cmd += ["--python-version", VENDOR_PYTHON, "-d", str(cache), *missing]
        print("downloading wheels:", " ".join(missing))
        subprocess.run(cmd, check=True)
        return download_wheels(cache)
    for key, wheel in present.items():
        if not wheel.name.endswith("-none-any.whl"):
            raise SystemExit(f"{wheel.name} is not a pure-Python wheel ({key})")
    return sorted(present.values())


def _plugin_files() -> list[tuple[Path, str]]:
    files = [
        (ROOT / f"{PACKAGE}.desktop", f"{PACKAGE}.desktop"),
        (ROOT / f"{PACKAGE}.action", f"{PACKAGE}.action"),
    ]
    for path in sorted((ROOT / PACKAGE).rglob("*")):
        rel = path.relative_to(ROOT)
        if path.is_dir() or SKIP_DIRS & set(rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        files.append((path, rel.as_posix()))
    return files


def _wheel_members(wheel: Path) -> list[tuple[zipfile.ZipInfo, str]]:
    members = []
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            top = info.filename.split("/")[0]
            if info.is_dir() or top.endswith(".data") or "__pycache__" in info.filename:
                continue
            if top.endswith(".dist-info") and not info.filename.endswith(
                ("METADATA", "entry_points.txt", "top_level.txt", "LICENSE", "LICENSE.txt")
            ):
                continue
            members.append((info, f"{PACKAGE}/vendor/{info.filename}"))
    return members


def build(out_dir: Path | None = None) -> Path:
    out_dir = out_dir or ROOT / "dist"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PACKAGE}-{version()}.zip"
    wheels = download_wheels()
    tmp = target.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, arcname in _plugin_files():
            zf.write(path, arcname)
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as wz:
                for info, arcname in _wheel_members(wheel):
                    zf.writestr(arcname, wz.read(info))
    tmp.replace(target)
    print(f"built {target} ({target.stat().st_size // 1024} KiB, {len(wheels)} vendored wheels)")
    return target


def default_profile() -> Path:
    """Krita's resource folder (the one holding pykrita/) on this system."""
    if sys.platform == "win32":
        return Path(os.environ["APPDATA"]) / "krita"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "krita"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "krita"


def default_kritarc() -> Path:
    if sys.platform == "win32":
        return Path(os.environ["LOCALAPPDATA"]) / "kritarc"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Preferences" / "kritarc"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "kritarc"


def enable_in_kritarc(kritarc: Path, key: str = f"enable_{PACKAGE}") -> None:
    """Set ``[python] enable_ai_diffusion=true`` without disturbing the rest of the file."""
    lines = kritarc.read_text(encoding="utf-8").splitlines() if kritarc.exists() else []
    section = None
    start = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            if section == "python":
                start = i
            continue
        if section == "python" and stripped.split("=")[0].strip() == key:
            lines[i] = f"{key}=true"
            break
    else:
        if start is None:
            if lines and lines[-1].strip():
                lines.append("")
            lines += ["[python]", f"{key}=true"]
        else:
            lines.insert(start + 1, f"{key}=true")
    kritarc.parent.mkdir(parents=True, exist_ok=True)
    kritarc.write_text("\n".join(lines) + "\n", encoding="utf-8")


def install(zip_path: Path, profile: Path, kritarc: Path) -> None:
    pykrita = profile / "pykrita"
    pykrita.mkdir(parents=True, exist_ok=True)
    old = pykrita / PACKAGE
    if old.exists():
        shutil.rmtree(old)  # a clean copy: no stale modules or vendored files
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            if info.filename == f"{PACKAGE}.action":
                actions = profile / "actions"
                actions.mkdir(parents=True, exist_ok=True)
                (actions / info.filename).write_bytes(zf.read(info))
            else:
                zf.extract(info, pykrita)
    enable_in_kritarc(kritarc)
    print(f"installed into {pykrita}; enabled in {kritarc}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    parser.add_argument("--out", type=Path, help="folder for the zip (default: dist/)")
    inst = sub.add_parser(
        "install", help="build, install into a Krita profile and enable the plugin"
    )
    inst.add_argument("--profile", type=Path, help="Krita resource folder (default: this user's)")
    inst.add_argument("--kritarc", type=Path, help="Krita settings file (default: this user's)")
    args = parser.parse_args(argv)
    zip_path = build(args.out)
    if args.command == "install":
        install(zip_path, args.profile or default_profile(), args.kritarc or default_kritarc())
    return 0


if __name__ == "__main__":
    sys.exit(main())
