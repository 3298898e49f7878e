"""The CLI against an Automatic1111/Forge WebUI (the fake, in its own process): detected
from the address, models listed, batches saved exactly, names checked before generating."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai_diffusion.backends import feather
from tests.a1111_fixtures import webui_process

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--checkpoint", "dreamshaper_8.safetensors", "--prompt", "a fox", "--steps", "3"]


@pytest.fixture(scope="module")
def webui_url() -> Iterator[str]:
    with webui_process("--auth", "ann:pw") as url:
        yield url.replace("http://", "http://ann:pw@")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def test_models_detects_the_webui(webui_url: str) -> None:
    result = cli("models", "--server", webui_url)
    assert result.returncode == 0, result.stderr
    assert "server: Automatic1111" in result.stdout
    assert "  dreamshaper_8.safetensors" in result.stdout
    assert "  control_v11p_sd15_canny [d14c016b]" in result.stdout
    assert "ann:pw" not in result.stdout + result.stderr


def test_batch_saves_exactly_n_images(webui_url: str, tmp_path: Path) -> None:
    result = cli("generate", "--server", webui_url, *BASE, "--batch", "3", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 3 and len(list(tmp_path.glob("*.png"))) == 3
    assert {Image.open(p).size for p in paths} == {(512, 512)}


def test_checkpoint_by_model_name_and_controlnet_names_with_spaces(
    webui_url: str, tmp_path: Path
) -> None:
    hint = tmp_path / "hint.png"
    Image.new("RGB", (512, 512), (0, 0, 0)).save(hint)
    result = cli(
        "generate", "--server", webui_url, "--backend", "a1111", "--checkpoint", "dreamshaper_8",
        "--prompt", "a fox", "--steps", "2", "--batch", "2",
        "--control", f"control_v11p_sd15_canny [d14c016b]:{hint}:0.7",
        "--control-preprocess", "canny", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2  # never the detected maps


def test_unknown_checkpoint_fails_before_generating(webui_url: str, tmp_path: Path) -> None:
    result = cli(
        "generate", "--server", webui_url, "--checkpoint", "missing_model.safetensors",
        "--prompt", "x", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    assert "missing_model.safetensors" in result.stderr and len(result.stderr.splitlines()) == 1
    assert list(tmp_path.glob("*.png")) == []


def test_inpaint_changes_nothing_outside_the_feather(webui_url: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    picture = rng.integers(0, 256, (300, 400, 3)).astype(np.uint8)
    mask = np.zeros((300, 400), np.uint8)
    mask[120:180, 150:260] = 255
    Image.fromarray(picture).save(tmp_path / "in.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    result = cli(
        "generate", "--server", webui_url, *BASE, "--image", str(tmp_path / "in.png"),
        "--mask", str(tmp_path / "mask.png"), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    out = np.asarray(Image.open(path).convert("RGB"))
    assert out.shape == picture.shape
    margin = feather.FEATHER_REACH + 4  # + the scaling filter when pasting back
    outside = np.ones(mask.shape, bool)
    outside[120 - margin : 180 + margin, 150 - margin : 260 + margin] = False
    assert (out[outside] == picture[outside]).all()
    assert (out[120:180, 150:260] != picture[120:180, 150:260]).any(-1).mean() > 0.9


def test_webui_without_api_is_told_to_add_it(tmp_path: Path) -> None:
    with webui_process("--no-api") as url:
        result = cli("models", "--server", url)
    assert result.returncode == 1
    assert "--api" in result.stderr and "neither as ComfyUI" in result.stderr
