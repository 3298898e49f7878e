"""The headless CLI: `workflow` offline, `models` and `generate` against the fake ComfyUI."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ai_diffusion.workflow import validate_graph
from tests.comfy_fixtures import CHECKPOINT, OBJECT_INFO_PATH, object_info

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(1)
    picture = Image.fromarray(rng.integers(0, 255, (256, 320, 3), dtype=np.uint8))
    mask = Image.new("L", (320, 256), 0)
    mask.paste(255, (200, 150, 260, 210))
    rgba_mask = Image.new("RGBA", (320, 256), (0, 0, 0, 255))
    rgba_mask.paste((0, 0, 0, 0), (10, 10, 60, 60))
    paths = {
        "picture": folder / "picture.png",
        "mask": folder / "mask.png",
        "alpha": folder / "alpha.png",
    }
    picture.save(paths["picture"])
    mask.save(paths["mask"])
    rgba_mask.save(paths["alpha"])
    return paths


BASE = ["--checkpoint", CHECKPOINT, "--prompt", "a red fox", "--steps", "2", "--seed", "7"]


@pytest.mark.parametrize(
    "mode_args",
    [
        [],
        ["--image", "{picture}", "--strength", "0.5"],
        ["--image", "{picture}", "--mask", "{mask}"],
        ["--image", "{picture}", "--mask", "{mask}", "--strength", "0.4"],
        ["--lora", "random-sd15-lora:0.8", "--prompt", "fox <lora:random-sd15-tiny-lora:0.5>"],
        [
            "--control",
            "random-sd15-controlnet.safetensors:{picture}:0.8:0.1:0.9",
            "--control-preprocess",
            "canny",
        ],
        ["--upscale", "random-compact-4x.safetensors"],
        ["--batch", "3"],
    ],
    ids=[
        "txt2img",
        "img2img",
        "inpaint",
        "inpaint-refine",
        "lora",
        "controlnet",
        "upscale",
        "batch",
    ],
)
def test_workflow_prints_a_valid_graph_for_each_mode(
    mode_args: list[str], pictures: dict[str, Path]
) -> None:
    args = [a.format(**pictures) for a in mode_args]
    result = cli("workflow", "--object-info", str(OBJECT_INFO_PATH), *BASE, *args)
    assert result.returncode == 0, result.stderr
    graph = json.loads(result.stdout)
    uploaded = [
        n["inputs"]["image"] for n in graph.values() if n["class_type"].startswith("LoadImage")
    ]
    validate_graph(graph, object_info(), uploaded=uploaded)
    classes = {n["class_type"] for n in graph.values()}
    assert "SaveImage" in classes
    assert all("Custom" not in c for c in classes)


def test_workflow_unknown_lora_lists_close_matches() -> None:
    result = cli(
        "workflow", "--object-info", str(OBJECT_INFO_PATH), *BASE, "--lora", "random-sd15-lorra"
    )
    assert result.returncode == 1
    assert "not on the server" in result.stderr and "random-sd15-lora" in result.stderr


def test_models_lists_what_the_server_has(fake_server: str) -> None:
    result = cli("models", "--server", fake_server, "--json")
    assert result.returncode == 0, result.stderr
    models = json.loads(result.stdout)
    assert set(models) >= {
        "checkpoints",
        "loras",
        "controlnets",
        "vaes",
        "upscalers",
        "embeddings",
        "samplers",
        "schedulers",
        "device",
    }
    assert CHECKPOINT in models["checkpoints"]


def test_generate_txt2img_writes_pngs(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "generate",
        "--server",
        fake_server,
        *BASE,
        "--width",
        "96",
        "--height",
        "64",
        "--batch",
        "2",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("*.png"))
    assert len(files) == 2
    assert all(Image.open(f).size == (96, 64) for f in files)
    assert "step 2/2" in result.stderr


def _inpaint(server: str, out: Path, picture: Path, mask: Path) -> tuple[np.ndarray, np.ndarray]:
    """Run `generate` inpaint; return the input and the written result as int arrays."""
    result = cli(
        "generate",
        "--server",
        server,
        *BASE,
        "--image",
        str(picture),
        "--mask",
        str(mask),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    (written,) = out.glob("*.png")
    before = np.asarray(Image.open(picture).convert("RGB")).astype(int)
    after = np.asarray(Image.open(written).convert("RGB")).astype(int)
    return before, after


def test_generate_inpaint_changes_only_the_masked_area(
    fake_server: str, tmp_path: Path, pictures: dict[str, Path]
) -> None:
    before, after = _inpaint(fake_server, tmp_path, pictures["picture"], pictures["mask"])
    assert after.shape == before.shape
    mask = np.asarray(Image.open(pictures["mask"])) > 0
    # Inside the selection: repainted. Far outside (beyond grow + feather): untouched.
    assert np.abs(after[mask] - before[mask]).mean() > 20
    far = np.ones_like(mask)
    far[150 - 40 : 210 + 40, 200 - 40 : 260 + 40] = False
    assert np.array_equal(after[far], before[far])


def test_generate_inpaint_with_alpha_mask(
    fake_server: str, tmp_path: Path, pictures: dict[str, Path]
) -> None:
    before, after = _inpaint(fake_server, tmp_path, pictures["picture"], pictures["alpha"])
    assert np.abs(after[20:50, 20:50] - before[20:50, 20:50]).mean() > 20
    assert np.array_equal(after[120:, 120:], before[120:, 120:])


def test_generate_failure_is_one_line_and_nonzero(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "generate",
        "--server",
        fake_server,
        "--checkpoint",
        "missing.safetensors",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "missing.safetensors" in result.stderr


def test_generate_unreachable_server(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = cli("generate", "--server", f"127.0.0.1:{port}", *BASE, "--out", str(tmp_path))
    assert result.returncode == 1 and "connection refused" in result.stderr
