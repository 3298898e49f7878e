"""``python -m ai_diffusion endpoint …`` against a fake RunPod REST v2 serverless API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ai_diffusion.cli.main import main
from tests.backend_fixtures import served_in_thread
from tests.fakes.runpod_endpoints import FakeEndpoints


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEndpoints]:
    fake = FakeEndpoints()
    with served_in_thread(fake.app()) as url:
        monkeypatch.setenv("AI_DIFFUSION_RUNPOD_API", url)
        monkeypatch.setenv("RUNPOD_API_KEY", fake.api_key)
        yield fake


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_endpoint_lifecycle_scales_to_zero(fake: FakeEndpoints, capsys) -> None:
    code, out, err = run_cli(
        capsys, "endpoint", "create", "--image", "runpod/worker-comfyui:5.8.5-flux1-schnell",
        "--network-volume", "vol_abc", "--json",
    )  # fmt: skip
    assert code == 0, err
    created = json.loads(out)
    sent = fake.endpoints[created["id"]]
    assert sent["workers"]["min"] == 0, "nothing is billed while no job runs"
    assert sent["type"] == "QUEUE" and sent["flashboot"] == "FLASHBOOT"
    assert sent["networkVolumes"] == ["vol_abc"] and sent["gpu"]["pools"] == ["ADA_24", "AMPERE_24"]
    code, out, _ = run_cli(capsys, "endpoint", "list")
    assert code == 0 and created["id"] in out and "flux1-schnell" in out
    code, out, _ = run_cli(capsys, "endpoint", "status", created["id"], "--json")
    assert json.loads(out)["workers"]["idle"] == 1
    code, _, err = run_cli(capsys, "endpoint", "delete", created["id"])
    assert code == 0 and fake.endpoints == {}
    code, _, err = run_cli(capsys, "endpoint", "status", created["id"])
    assert code == 1 and "no such serverless endpoint" in err


def test_throttled_endpoint_is_pointed_out(fake: FakeEndpoints, capsys) -> None:
    _, _, err = run_cli(capsys, "endpoint", "create")
    (endpoint,) = fake.endpoints.values()
    assert f"--backend runpod-serverless --endpoint {endpoint['id']}" in err
    endpoint["workers"]["max"] = 0  # RunPod's throttling of an endpoint unused for a week
    _, out, _ = run_cli(capsys, "endpoint", "list")
    assert "throttled" in out


def test_unknown_pool_is_refused_in_words(fake: FakeEndpoints, capsys) -> None:
    code, _, err = run_cli(capsys, "endpoint", "create", "--pool", "NO_SUCH_POOL")
    assert code == 1 and "NO_SUCH_POOL" in err and len(err.strip().splitlines()) == 1


def test_wrong_key_is_not_echoed(fake: FakeEndpoints, capsys, monkeypatch) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "rp-wrong-0000000000")
    code, _, err = run_cli(capsys, "endpoint", "list")
    assert code == 1 and "API key" in err and "rp-wrong" not in err


def test_salad_says_what_to_do_instead(capsys) -> None:
    code, _, err = run_cli(capsys, "endpoint", "list", "--provider", "salad")
    assert code == 1 and "Salad portal" in err
