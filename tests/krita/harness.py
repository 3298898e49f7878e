"""Run code inside Debian's real Krita: kritarunner (no display) or the GUI under Xvfb.

Every run gets an isolated profile (HOME and XDG folders), so a developer's own Krita is never
touched. Facts and pitfalls: shared/krita/README.md (kritarunner always exits 0; an uncaught
exception opens a modal dialog; plugins must be enabled in kritarc).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import package

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KRITA_SITE = ROOT / "build" / "krita-site"  # pytest for Krita's own Python (scripts/test.sh)
DRIVER = "ai_diffusion_test_driver"


def krita_available() -> bool:
    return bool(shutil.which("kritarunner") and shutil.which("krita"))


@dataclass
class KritaProfile:
    base: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, base: Path) -> KritaProfile:
        home = base / "home"
        dirs = {
            "HOME": home,
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_RUNTIME_DIR": base / "runtime",
        }
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        dirs["XDG_RUNTIME_DIR"].chmod(0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "VIRTUAL_ENV", "QT_"))
        }
        env.update({k: str(v) for k, v in dirs.items()})
        env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        profile = cls(base, env)
        profile._write_settings()
        return profile

    @property
    def resources(self) -> Path:
        return Path(self.env["XDG_DATA_HOME"]) / "krita"

    @property
    def kritarc(self) -> Path:
        return Path(self.env["XDG_CONFIG_HOME"]) / "kritarc"

    def _write_settings(self) -> None:
        config = Path(self.env["XDG_CONFIG_HOME"])
        if not self.kritarc.exists():
            self.kritarc.write_text(
                "[General]\nHideSplashAfterStartup=true\nFetchNews=false\n"
                "ShowWelcomePage=false\n\n[python]\n"
            )
        (config / "kritadisplayrc").write_text(
            "[General]\nOpenGLRenderer=none\nEnableSingleApplication=false\n"
        )

    def install_plugin(self, zip_path: Path) -> Path:
        package.install(zip_path, self.resources, self.kritarc)
        return self.resources / "pykrita"

    def install_driver(self) -> None:
        pykrita = self.resources / "pykrita"
        target = pykrita / DRIVER
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(HERE / "gui_driver" / DRIVER, target)
        shutil.copy(HERE / "gui_driver" / f"{DRIVER}.desktop", pykrita)
        package.enable_in_kritarc(self.kritarc, f"enable_{DRIVER}")


def run_pytest_in_krita(
    profile: KritaProfile, tests: list[str], result_dir: Path, timeout: int = 300
) -> dict:
    """Run pytest on ``tests`` inside kritarunner; the plugin must already be installed."""
    result_dir.mkdir(parents=True, exist_ok=True)
    result_file = result_dir / "kritarunner-result.json"
    result_file.unlink(missing_ok=True)
    env = dict(profile.env, QT_QPA_PLATFORM="offscreen")
    # The installed plugin first (as Krita loads it), then pytest, then the test helpers.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(profile.resources / "pykrita"), str(KRITA_SITE), str(HERE)]
    )
    env["AI_DIFFUSION_TEST_OUTPUT"] = str(result_dir)
    # kritarunner parses options itself: pytest's arguments travel in the environment.
    pytest_args = ["-c", str(HERE / "pytest-inside.ini"), "--confcutdir", str(HERE / "inside")]
    pytest_args += [
        "-q",
        "-p",
        "no:cacheprovider",
        "--junitxml",
        str(result_dir / "junit.xml"),
        *tests,
    ]
    env["AI_DIFFUSION_PYTEST_ARGS"] = json.dumps(pytest_args)
    env["AI_DIFFUSION_RESULT_FILE"] = str(result_file)
    cmd = ["kritarunner", "-s", "runner_entry", "-f", "run_pytest"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=HERE)
    (result_dir / "kritarunner.log").write_text(proc.stdout + proc.stderr)
    if not result_file.exists():
        raise AssertionError(
            f"kritarunner wrote no result; output:\n{(proc.stdout + proc.stderr)[-4000:]}"
        )
    result = json.loads(result_file.read_text())
    result["output"] = proc.stdout + proc.stderr
    suite = ElementTree.parse(result_dir / "junit.xml").getroot().find("testsuite")
    if suite is not None:
        result["tests"] = int(suite.get("tests", 0))
        result["failures"] = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return result


class Xvfb:
    def __init__(self) -> None:
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        self.display = ":" + number
        # Xvfb names the display before it accepts connections: wait for its socket.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(f"/tmp/.X11-unix/X{number}")
                break
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_gui(
    profile: KritaProfile,
    scenario: str,
    result_dir: Path,
    *,
    timeout: int = 240,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """Start Krita under Xvfb with the test driver plugin running ``scenario``
    (``module:function`` in tests/krita/scenarios) and return what the driver reported."""
    result_dir.mkdir(parents=True, exist_ok=True)
    for name in ("gui-result.json", "exceptions.txt"):
        (result_dir / name).unlink(missing_ok=True)
    profile.install_driver()
    xvfb = Xvfb()
    env = dict(profile.env, DISPLAY=xvfb.display, **(extra_env or {}))
    env["PYTHONPATH"] = str(HERE)  # scenarios; sitecustomize catches uncaught exceptions
    env["AI_DIFFUSION_GUI_SCENARIO"] = scenario
    env["AI_DIFFUSION_TEST_OUTPUT"] = str(result_dir)
    started = time.monotonic()
    log = open(result_dir / "krita-gui.log", "w")
    proc = subprocess.Popen(
        ["krita", "--nosplash"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        log.close()
        xvfb.close()
    result_file = result_dir / "gui-result.json"
    result = (
        json.loads(result_file.read_text())
        if result_file.exists()
        else {"ok": False, "error": "no result (timeout or crash)"}
    )
    exceptions = result_dir / "exceptions.txt"
    result["exceptions"] = exceptions.read_text() if exceptions.exists() else ""
    result["seconds"] = round(time.monotonic() - started, 1)
    result["returncode"] = proc.returncode
    return result
