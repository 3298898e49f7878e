"""``python -m ai_diffusion models``: what a server offers, for people and for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.captures import DEFAULT_VERSION, capture
from tests.comfy_fixtures import CHECKPOINT

CHECKPOINTS = capture().http["GET /models/checkpoints"]["body"]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "cli-token-5f3a9c"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AI_DIFFUSION_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**environment, **(env or {})},
    )  # fmt: skip


@pytest.fixture(scope="module")
def guarded_server() -> Iterator[str]:
    """The fake ComfyUI behind a bearer token, as a proxy in front of a pod would be."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.comfy_server", "--port", "0", "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "http://127.0.0.1:" in line, line
    yield line.split()[-1]
    proc.kill()
    proc.wait(10)


def test_human_output_names_device_and_models(fake_server: str) -> None:
    result = cli("models", "--server", fake_server)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("device: ") and f"ComfyUI {DEFAULT_VERSION}" in lines[0]
    assert f"checkpoints ({len(CHECKPOINTS)}):" in lines and f"  {CHECKPOINT}" in lines
    assert any(line.startswith("samplers (") for line in lines)


def test_json_has_the_documented_keys(fake_server: str) -> None:
    result = cli("models", "--server", fake_server, "--json")
    models = json.loads(result.stdout)
    assert {
        "checkpoints", "loras", "controlnets", "vaes", "upscalers", "embeddings", "samplers",
        "schedulers", "device",
    } <= set(models)  # fmt: skip
    assert models["device"]["comfyui_version"] == DEFAULT_VERSION
    assert "random-sd15-controlnet.safetensors" in models["controlnets"]


def test_token_from_option_or_environment_and_never_printed(guarded_server: str) -> None:
    refused = cli("models", "--server", guarded_server)
    assert refused.returncode == 1
    assert "refused access (401)" in refused.stderr and refused.stderr.count("\n") == 1
    by_option = cli("models", "--server", guarded_server, "--token", TOKEN, "--json")
    assert by_option.returncode == 0 and json.loads(by_option.stdout)["checkpoints"]
    by_env = cli("models", "--server", guarded_server, env={"AI_DIFFUSION_TOKEN": TOKEN})
    assert by_env.returncode == 0
    wrong = cli("-v", "models", "--server", guarded_server, "--token", "wrong-token-123")
    assert wrong.returncode == 1 and "a different token" in wrong.stderr
    for result in (refused, by_option, by_env, wrong):
        assert TOKEN not in result.stdout + result.stderr
        assert "wrong-token-123" not in result.stderr


def test_not_an_address(tmp_path: Path) -> None:
    result = cli("models", "--server", "ftp://files.example.com")
    assert result.returncode == 1
    assert "is not a server address" in result.stderr and result.stderr.count("\n") == 1
