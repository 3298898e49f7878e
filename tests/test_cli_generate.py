"""``python -m ai_diffusion generate``: results on disk, progress on stderr, one-line errors."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.comfy_fixtures import CHECKPOINT

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--checkpoint", CHECKPOINT, "--prompt", "a fox", "--steps", "3", "--seed", "5"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_progress_goes_to_stderr_and_file_names_to_stdout(fake_server: str, tmp_path: Path) -> None:
    size = ["--width", "96", "--height", "64"]
    result = cli("generate", "--server", fake_server, *BASE, *size, "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "step 1/3" in result.stderr and "step 3/3" in result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 1 and paths[0].parent == tmp_path
    assert Image.open(io.BytesIO(paths[0].read_bytes())).size == (96, 64)


def test_earlier_results_are_never_overwritten(fake_server: str, tmp_path: Path) -> None:
    first = cli("generate", "--server", fake_server, *BASE, "--width", "64", "--out", str(tmp_path))
    first_bytes = Path(first.stdout.strip()).read_bytes()
    again = cli("generate", "--server", fake_server, *BASE, "--width", "64", "--out", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() != first.stdout.strip()
    assert Path(first.stdout.strip()).read_bytes() == first_bytes
    assert len(list(tmp_path.glob("*.png"))) == 2


def test_upload_progress_is_shown_for_img2img(fake_server: str, tmp_path: Path) -> None:
    picture = tmp_path / "in.png"
    Image.new("RGB", (128, 96), (10, 200, 30)).save(picture)
    result = cli(
        "generate", "--server", fake_server, *BASE, "--image", str(picture), "--strength", "0.5",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "uploading: 100 %" in result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert Image.open(path).size == (128, 96)


def test_unknown_sampler_is_one_line_naming_it(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "generate", "--server", fake_server, *BASE, "--sampler", "no_such_sampler",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and "no_such_sampler" in result.stderr
    assert not list(tmp_path.glob("*.png"))


def test_output_folder_that_cannot_be_made(fake_server: str, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = cli("generate", "--server", fake_server, *BASE, "--out", str(blocker / "out"))
    assert result.returncode == 1 and "cannot be created" in result.stderr
