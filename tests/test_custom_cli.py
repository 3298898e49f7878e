"""``python -m ai_diffusion workflow run FILE``: a custom workflow against the fake ComfyUI."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from tests.comfy_fixtures import OBJECT_INFO_PATH, fake_process

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "workflows"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_txt2img_workflow_writes_a_png(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "workflow", "run", str(DATA / "control_after_generate.json"), "--server", fake_server,
        "--prompt", "a green owl", "--seed", "9", "--set", "3.steps=3", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "step 3/3" in result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert path.parent == tmp_path and path.name == "control_after_generate_9_00.png"
    assert Image.open(path).size == (64, 64)


def test_inpaint_workflow_uploads_image_and_mask(fake_server: str, tmp_path: Path) -> None:
    picture, mask = tmp_path / "in.png", tmp_path / "mask.png"
    Image.new("RGB", (96, 64), (10, 200, 30)).save(picture)
    Image.new("L", (96, 64), 255).save(mask)
    result = cli(
        "workflow-run", str(DATA / "inpaint.json"), "--server", fake_server,
        "--image", str(picture), "--mask", str(mask), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "uploading: 100 %" in result.stderr
    (path,) = [Path(line) for line in result.stdout.splitlines()]
    assert Image.open(path).size == (96, 64)


def test_subgraph_workflow_runs(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "workflow", "run", str(DATA / "subgraph.json"), "--server", fake_server,
        "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert Image.open(result.stdout.strip()).size == (64, 64)


def test_missing_custom_node_queues_nothing(tmp_path: Path) -> None:
    with fake_process() as url:  # a server of its own, so its history is this test's
        result = cli(
            "workflow", "run", str(DATA / "custom_node.json"), "--server", url,
            "--out", str(tmp_path),
        )  # fmt: skip
        assert result.returncode != 0
        assert (
            "This workflow needs the custom nodes ImpactImageSharpen and easy imageSave, which "
            "the server does not have. Install them on the server (ComfyUI-Manager) or choose "
            "another workflow." in result.stderr
        )
        assert result.stderr.strip().count("\n") == 0
        assert _get(url + "/history") == {}
        queue = _get(url + "/queue")
        assert queue == {"queue_running": [], "queue_pending": []}
    assert not list(tmp_path.glob("*.png"))


def test_a_value_outside_the_limits_is_one_line(fake_server: str, tmp_path: Path) -> None:
    result = cli(
        "workflow", "run", str(DATA / "groups.json"), "--server", fake_server,
        "--set", "Sampler.steps=0", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    assert "Sampler · steps: give a whole number from 1 to 10000" in result.stderr


def test_show_and_print_need_no_server() -> None:
    base = ["workflow", "run", str(DATA / "groups.json"), "--object-info", str(OBJECT_INFO_PATH)]
    shown = cli(*base, "--show")
    assert shown.returncode == 0, shown.stderr
    assert "param  3.steps (Sampler · steps, int [1 … 10000]): 2" in shown.stdout
    assert "output 9 (Result): layer AI result" in shown.stdout
    printed = cli(*base, "--print", "--prompt", "a heron", "--seed", "4")
    graph = json.loads(printed.stdout)
    assert graph["6"]["inputs"]["text"] == "a heron" and graph["3"]["inputs"]["seed"] == 4


def test_the_plain_workflow_command_is_unchanged() -> None:
    result = cli("workflow", "--checkpoint", "random-sd15-tiny.safetensors", "--prompt", "x")
    assert result.returncode == 0, result.stderr
    assert any(n["class_type"] == "KSampler" for n in json.loads(result.stdout).values())


@pytest.mark.parametrize(
    "broken",
    [
        {"1": {"class_type": "SaveImage"}},  # API format, a node without inputs
        {"nodes": [], "links": 1.5, "version": 0.4},  # page format, links of the wrong kind
    ],
)
def test_a_workflow_of_an_odd_shape_gets_one_sentence(broken: object, tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(broken))
    result = cli("workflow", "run", str(path), "--object-info", str(OBJECT_INFO_PATH), "--print")
    assert result.returncode != 0
    assert "not a ComfyUI workflow the plugin can read" in result.stderr
    assert "Traceback" not in result.stderr
