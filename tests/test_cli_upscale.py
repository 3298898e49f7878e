"""``generate --upscale MODEL --upscale-factor F --refine STRENGTH``: an upscale with a tiled
refine on the fake ComfyUI, its size exact, its progress counting tiles; mistakes in words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ai_diffusion.request import Extent
from ai_diffusion.workflow.upscale_tiles import plan_tiles
from tests.comfy_fixtures import CHECKPOINT

ROOT = Path(__file__).resolve().parent.parent
UPSCALER = "random-compact-4x.safetensors"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.effect_mandelbrot((90, 70), (-2, -1.2, 1, 1.2), 50).convert("RGB").save(path)
    return path


def test_upscale_with_refine_has_the_factors_size_and_says_how_many_tiles(
    fake_server: str, picture: Path, tmp_path: Path
) -> None:
    result = cli(
        "generate", "--server", fake_server, "--model", CHECKPOINT, "--steps", "2",
        "--image", str(picture), "--upscale", UPSCALER, "--upscale-factor", "2.5",
        "--refine", "0.4", "--tile-size", "128", "--tile-overlap", "32",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert Image.open(path).size == (225, 175)
    assert "upscale" in path.name
    count = len(plan_tiles(Extent(225, 175), 128, 32))
    assert count == 6
    # Followed by asking the server, not step by step (see test_upscale_traffic.py).
    assert "Refining 6 tiles on the server" in result.stderr
    assert "step 1/" not in result.stderr


def test_upscale_alone_to_a_factor(fake_server: str, picture: Path, tmp_path: Path) -> None:
    result = cli(
        "generate", "--server", fake_server, "--image", str(picture), "--upscale", UPSCALER,
        "--upscale-factor", "1.5", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert Image.open(path).size == (135, 105)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--refine", "0.4"], "--refine refines an upscaled picture"),  # no --model
        (["--upscale-factor", "6"], "Upscale by ×1.5 to ×4 (got ×6)"),
    ],
)
def test_mistakes_are_one_line(picture: Path, tmp_path: Path, extra: list[str], words: str) -> None:
    result = cli(
        "generate", "--server", "127.0.0.1:9", "--image", str(picture), "--upscale", UPSCALER,
        *extra, "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode != 0
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_missing_upscale_model_is_named(fake_server: str, picture: Path, tmp_path: Path) -> None:
    result = cli(
        "generate", "--server", fake_server, "--model", CHECKPOINT, "--image", str(picture),
        "--upscale", "4x-UltraSharp.pth", "--refine", "0.3", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode != 0
    assert "no upscale model named '4x-UltraSharp.pth'" in result.stderr
    assert UPSCALER in result.stderr
