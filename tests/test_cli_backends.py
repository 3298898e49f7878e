"""``generate`` on RunPod Serverless, SaladCloud and several servers at once (the CLI as a
separate process against the fakes): results on disk, one-line errors, keys never echoed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend_fixtures import served_in_thread
from tests.comfy_fixtures import CHECKPOINT
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.executor import decode_png
from tests.fakes.runpod_endpoints import FakeEndpoints
from tests.fakes.runpod_serverless import FakeServerless
from tests.fakes.salad_server import FakeSaladGroup

ROOT = Path(__file__).resolve().parent.parent
BASE = ["--checkpoint", CHECKPOINT, "--prompt", "a fox", "--steps", "2", "--seed", "5",
        "--width", "64", "--height", "64"]  # fmt: skip


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**clean, **(env or {})},
    )  # fmt: skip


@pytest.fixture
def serverless() -> Iterator[tuple[FakeServerless, dict[str, str]]]:
    fake = FakeServerless(warm_workers=1, queue_polls=0)
    rest = FakeEndpoints(api_key=fake.api_key)
    rest.add(fake.endpoint_id, ["ADA_24", "AMPERE_24"])
    with served_in_thread(fake.app()) as url, served_in_thread(rest.app()) as rest_url:
        fake.base_url = url
        yield (
            fake,
            {
                "AI_DIFFUSION_RUNPOD_SERVERLESS_API": url + "/v2",
                "AI_DIFFUSION_RUNPOD_API": rest_url,
            },
        )


def test_runpod_serverless_generate_writes_the_images(
    serverless: tuple[FakeServerless, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = serverless
    result = cli(
        "generate", "--backend", "runpod-serverless", "--endpoint", fake.endpoint_id,
        "--models", CHECKPOINT, *BASE, "--batch", "2", "--out", str(tmp_path),
        env={**env, "RUNPOD_API_KEY": fake.api_key},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 2 and all(decode_png(p.read_bytes()).shape[:2] == (64, 64) for p in paths)
    # 3.456 s of work at the dearest GPU of the endpoint's pools ($1.10/h): $0.0011
    assert "started" in result.stderr and "worker time: 3.5 s, about $0.0011" in result.stderr
    assert fake.api_key not in result.stderr + result.stdout


def test_runpod_serverless_wrong_key_is_one_line_without_the_key(
    serverless: tuple[FakeServerless, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = serverless
    result = cli(
        "generate", "--backend", "runpod-serverless", "--endpoint", fake.endpoint_id,
        "--token", "rp-not-the-key-5555", *BASE, "--out", str(tmp_path), env=env,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "API key" in lines[0]
    assert "rp-not-the-key" not in result.stderr


def test_runpod_serverless_failed_job_says_the_workers_message(
    serverless: tuple[FakeServerless, dict[str, str]], tmp_path: Path
) -> None:
    fake, env = serverless
    result = cli(
        "generate", "--backend", "runpod-serverless", "--endpoint", fake.endpoint_id,
        "--checkpoint", "missing.safetensors", "--prompt", "x", "--steps", "2",
        "--out", str(tmp_path), env={**env, "RUNPOD_API_KEY": fake.api_key},
    )  # fmt: skip
    assert result.returncode == 1
    assert "Workflow validation failed" in result.stderr and "missing.safetensors" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_runpod_serverless_without_key_says_where_to_put_it(tmp_path: Path) -> None:
    result = cli(
        "generate", "--backend", "runpod-serverless", "--endpoint", "abc123",
        *BASE, "--out", str(tmp_path),
        env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
    )  # fmt: skip
    assert result.returncode == 1 and "RUNPOD_API_KEY" in result.stderr


def test_salad_generate_with_the_key_from_the_environment(tmp_path: Path) -> None:
    fake = FakeSaladGroup()
    with served_in_thread(fake.app()) as url:
        result = cli(
            "generate", "--backend", "salad", "--server", url, *BASE, "--out", str(tmp_path),
            env={"SALAD_API_KEY": fake.api_key or ""},
        )  # fmt: skip
        refused = cli(
            "generate", "--backend", "salad", "--server", url, *BASE, "--out", str(tmp_path),
            env={"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    assert refused.returncode == 1 and "Salad API key" in refused.stderr


def test_two_servers_share_a_batch_and_all_images_are_saved(tmp_path: Path) -> None:
    a, b = FakeComfy.create(), FakeComfy.create()
    with served_in_thread(a.app()) as url_a, served_in_thread(b.app()) as url_b:
        result = cli(
            "generate", "--server", url_a, "--server", url_b, *BASE, "--batch", "4",
            "--out", str(tmp_path),
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.splitlines()]
    assert len(paths) == 4 and len({p.read_bytes() for p in paths}) == 4
    assert len(a.history) == 1 and len(b.history) == 1, "each server ran part of the batch"


def test_models_of_a_serverless_worker_by_discovery(
    serverless: tuple[FakeServerless, dict[str, str]],
) -> None:
    fake, env = serverless
    args = ("models", "--backend", "runpod-serverless", "--endpoint", fake.endpoint_id, "--json")
    listed = cli(*args, env={**env, "RUNPOD_API_KEY": fake.api_key})
    assert listed.returncode == 0 and json.loads(listed.stdout)["checkpoints"] == []
    assert fake.jobs == {}, "connecting runs no job"
    found = cli(*args, "--discover", env={**env, "RUNPOD_API_KEY": fake.api_key})
    assert found.returncode == 0, found.stderr
    assert CHECKPOINT in json.loads(found.stdout)["checkpoints"]
