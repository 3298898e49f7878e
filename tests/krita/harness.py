"""Run code inside a real Krita: kritarunner (no display) or the GUI under Xvfb.

Three Kritas: Debian 12's 5.1 on this machine, and Debian's 5.3 (Qt 5, Python 3.14) and 6.0
(Qt 6, PyQt6, Python 3.14) in chroots built by ``scripts/krita-chroot.sh``. Files a chrooted
Krita reads or writes live under /tmp, which the chroot shares.

Every run gets an isolated profile (HOME and XDG folders), so a developer's own Krita is never
touched. Facts and pitfalls (docs/testing.md): kritarunner always exits 0; an uncaught exception
opens a modal dialog; plugins must be enabled in kritarc; a plugin that fails to import is only a
line in Krita's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import package

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KRITA_SITE = ROOT / "build" / "krita-site"  # pytest for Krita's own Python (scripts/test.sh)
DRIVER = "ai_diffusion_test_driver"
# What a chrooted Krita gets of the environment (everything else is the chroot's own).
PASSED_ENV = ("HOME", "DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH", "TMPDIR", "LANG")
# Lines in Krita's log that mean a plugin did not load or raised.
LOG_ERRORS = re.compile(
    r"Error loading plugin|Traceback \(most recent call last\)|"
    r"ai_diffusion: the plugin could not start|Cannot enter into task"
)


@dataclass(frozen=True)
class KritaInstall:
    """One Krita: this machine's (``root`` None) or one in a chroot."""

    name: str
    root: Path | None = None

    def available(self) -> bool:
        if self.root is None:
            return bool(shutil.which("kritarunner") and shutil.which("krita"))
        return (self.root / "usr/bin/kritarunner").exists() and (self.root / "tmp").is_dir()

    def ready(self) -> str:
        """Empty when usable, else what to do."""
        if not self.available():
            return f"Krita {self.name} is not installed (scripts/test.sh installs it)"
        if self.root is not None and not _mounted(self.root / "tmp"):
            return f"the Krita {self.name} chroot is not mounted: scripts/krita-chroot.sh mount"
        return ""

    def command(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        if self.root is None:
            return argv, env
        inner = {
            k: v for k, v in env.items() if k in PASSED_ENV or k.startswith(("XDG_", "AI_DIFF"))
        }
        inner["PATH"] = "/usr/bin:/bin"
        inner.setdefault("LANG", "C.UTF-8")
        assignments = [f"{k}={v}" for k, v in sorted(inner.items())]
        outer = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        return ["chroot", str(self.root), "env", "-i", *assignments, *argv], outer


def _mounted(path: Path) -> bool:
    """A bind mount of the same file system is not seen by os.path.ismount: ask the kernel."""
    with open("/proc/mounts") as mounts:
        return any(line.split()[1] == str(path) for line in mounts)


INSTALLS = {
    "5.1": KritaInstall("5.1"),
    "5.3": KritaInstall(
        "5.3", Path(os.environ.get("AI_DIFFUSION_KRITA53_ROOT", "/opt/sid53-root"))
    ),
    "6.0": KritaInstall("6.0", Path(os.environ.get("AI_DIFFUSION_KRITA6_ROOT", "/opt/sid-root"))),
}


def krita_installs() -> list[KritaInstall]:
    """The Kritas to test in: AI_DIFFUSION_KRITAS (comma-separated names) or all three."""
    names = os.environ.get("AI_DIFFUSION_KRITAS", ",".join(INSTALLS)).split(",")
    return [INSTALLS[n.strip()] for n in names if n.strip()]


def require(krita: KritaInstall) -> None:
    """Skip a test whose Krita is missing, unless the run requires it
    (AI_DIFFUSION_REQUIRE_KRITAS=1, set by scripts/test.sh when it installed them)."""
    import pytest

    problem = krita.ready()
    if problem:
        if os.environ.get("AI_DIFFUSION_REQUIRE_KRITAS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)


def krita_available() -> bool:
    return INSTALLS["5.1"].available()


def log_errors(text: str) -> list[str]:
    """Lines of a Krita log that show a plugin failing to load or raising."""
    return [line for line in text.splitlines() if LOG_ERRORS.search(line)]


@dataclass
class KritaProfile:
    base: Path
    env: dict[str, str] = field(default_factory=dict)
    krita: KritaInstall = INSTALLS["5.1"]

    @classmethod
    def create(cls, base: Path, krita: KritaInstall | None = None) -> KritaProfile:
        krita = krita or INSTALLS["5.1"]
        if krita.root is not None and not str(base.resolve()).startswith("/tmp/"):
            raise ValueError(f"a chrooted Krita only sees /tmp: {base}")
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
        env["TMPDIR"] = str(home)  # Krita leaves swap files in TMPDIR
        profile = cls(base, env, krita)
        profile._write_settings()
        if krita.root is not None:  # the chroot cannot see the repository
            shutil.copytree(HERE, profile.tests_dir, ignore=shutil.ignore_patterns("__pycache__"))
            if KRITA_SITE.is_dir():
                shutil.copytree(KRITA_SITE, profile.site_dir)
        return profile

    @property
    def tests_dir(self) -> Path:
        """tests/krita as this profile's Krita sees it."""
        return HERE if self.krita.root is None else self.base / "krita-tests"

    @property
    def site_dir(self) -> Path:
        return KRITA_SITE if self.krita.root is None else self.base / "krita-site"

    def work_dir(self, result_dir: Path) -> Path:
        """Where Krita writes a run's output (copied to ``result_dir`` afterwards)."""
        if self.krita.root is None:
            return result_dir
        return self.base / "out" / result_dir.name

    def popen_args(self, argv: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        return self.krita.command(argv, env)

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


def _copy_back(work: Path, result_dir: Path) -> None:
    if work != result_dir and work.is_dir():
        shutil.copytree(work, result_dir, dirs_exist_ok=True)


def run_pytest_in_krita(
    profile: KritaProfile, tests: list[str], result_dir: Path, timeout: int = 300
) -> dict:
    """Run pytest on ``tests`` (paths under tests/krita) inside kritarunner; the plugin must
    already be installed."""
    result_dir.mkdir(parents=True, exist_ok=True)
    work = profile.work_dir(result_dir)
    work.mkdir(parents=True, exist_ok=True)
    result_file = work / "kritarunner-result.json"
    result_file.unlink(missing_ok=True)
    here = profile.tests_dir
    env = dict(profile.env, QT_QPA_PLATFORM="offscreen")
    # The installed plugin first (as Krita loads it), then pytest, then the test helpers.
    env["PYTHONPATH"] = os.pathsep.join(
        [str(profile.resources / "pykrita"), str(profile.site_dir), str(here)]
    )
    env["AI_DIFFUSION_TEST_OUTPUT"] = str(work)
    # kritarunner parses options itself: pytest's arguments travel in the environment.
    pytest_args = ["-c", str(here / "pytest-inside.ini"), "--confcutdir", str(here / "inside")]
    pytest_args += [
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(here),
        "--junitxml",
        str(work / "junit.xml"),
        *[str(here / t) for t in tests],
    ]
    env["AI_DIFFUSION_PYTEST_ARGS"] = json.dumps(pytest_args)
    env["AI_DIFFUSION_RESULT_FILE"] = str(result_file)
    cmd, run_env = profile.popen_args(
        ["kritarunner", "-s", "runner_entry", "-f", "run_pytest"], env
    )
    proc = subprocess.run(
        cmd, env=run_env, capture_output=True, text=True, timeout=timeout, cwd=here
    )
    output = proc.stdout + proc.stderr
    (work / "kritarunner.log").write_text(output)
    _copy_back(work, result_dir)
    if not result_file.exists():
        raise AssertionError(f"kritarunner wrote no result; output:\n{output[-4000:]}")
    result = json.loads(result_file.read_text())
    result["output"] = output
    suite = ElementTree.parse(work / "junit.xml").getroot().find("testsuite")
    if suite is not None:
        result["tests"] = int(suite.get("tests", 0))
        result["failures"] = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return result


class Xvfb:
    """A virtual screen; ``display`` is only set once it accepts connections (retried: under
    load, or beside another test's screen, a start can fail)."""

    def __init__(self, attempts: int = 3, size: str = "1600x1000") -> None:
        self.size = size  # width x height of the screen
        for _ in range(attempts):
            if self._start():
                return
            self.close()
        raise RuntimeError("Xvfb did not start (is the xvfb package installed?)")

    def _start(self) -> bool:
        read, write = os.pipe()
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                f"{self.size}x24",
                "-nolisten",
                "tcp",
                "-noreset",  # no reset when our socket probe disconnects
            ],  # fmt: skip
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=self.err,
        )
        os.close(write)
        with os.fdopen(read) as f:
            number = f.readline().strip()
        if not number.isdigit():
            return False
        self.display = ":" + number
        # Xvfb names the display before it accepts connections: wait for its socket.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as s:
                s.connect(f"/tmp/.X11-unix/X{number}")
                return True
            time.sleep(0.1)
        return False

    def close(self) -> str:
        """Stop it; returns what it printed (kept in the run's log folder)."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.seek(0)
        text = self.err.read().decode(errors="replace")
        self.err.close()
        return text


def run_gui(
    profile: KritaProfile,
    scenario: str,
    result_dir: Path,
    *,
    timeout: int = 240,
    extra_env: dict[str, str] | None = None,
    screen: str = "1600x1000",
) -> dict:
    """Start Krita under Xvfb with the test driver plugin running ``scenario``
    (``module:function`` in tests/krita/scenarios) and return what the driver reported, with
    ``exceptions`` (uncaught in Python) and ``log_errors`` (plugin load failures and tracebacks
    in Krita's log). ``screen`` is the virtual screen's size, e.g. "1366x768"."""
    result_dir.mkdir(parents=True, exist_ok=True)
    work = profile.work_dir(result_dir)
    work.mkdir(parents=True, exist_ok=True)
    for name in ("gui-result.json", "exceptions.txt"):
        (work / name).unlink(missing_ok=True)
    profile.install_driver()
    xvfb = Xvfb(size=screen)
    env = dict(profile.env, DISPLAY=xvfb.display, **(extra_env or {}))
    env["PYTHONPATH"] = str(profile.tests_dir)  # scenarios; sitecustomize records exceptions
    env["AI_DIFFUSION_GUI_SCENARIO"] = scenario
    env["AI_DIFFUSION_TEST_OUTPUT"] = str(work)
    started = time.monotonic()
    log_path = work / "krita-gui.log"
    log = open(log_path, "w")
    cmd, run_env = profile.popen_args(["krita", "--nosplash"], env)
    proc = subprocess.Popen(
        cmd, env=run_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        log.close()
        alive = xvfb.proc.poll() is None
        (work / "xvfb.log").write_text(f"{xvfb.display} alive at the end: {alive}\n" + xvfb.close())
    result_file = work / "gui-result.json"
    result = (
        json.loads(result_file.read_text())
        if result_file.exists()
        else {"ok": False, "error": "no result (timeout or crash)"}
    )
    exceptions = work / "exceptions.txt"
    result["exceptions"] = exceptions.read_text() if exceptions.exists() else ""
    result["log_errors"] = log_errors(log_path.read_text(errors="replace"))
    result["seconds"] = round(time.monotonic() - started, 1)
    result["returncode"] = proc.returncode
    result["krita"] = profile.krita.name
    _copy_back(work, result_dir)
    return result
