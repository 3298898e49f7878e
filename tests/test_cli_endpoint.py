"""``python -m ai_diffusion endpoint …`` against a fake RunPod REST v2 serverless API."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ai_diffusion.cli.main import main
from tests.backend_fixtures import served_in_thread
from tests.fakes.runpod_endpoints import FakeEndpoints
from tests.fakes.salad_api import FakeSaladApi


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


def test_runpod_endpoints_have_nothing_to_start(fake: FakeEndpoints, capsys) -> None:
    code, _, err = run_cli(capsys, "endpoint", "start", "abc123")
    assert code == 1 and "by itself" in err


@pytest.fixture
def salad(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSaladApi]:
    fake = FakeSaladApi()
    with served_in_thread(fake.app()) as url:
        monkeypatch.setenv("AI_DIFFUSION_SALAD_API", url)
        monkeypatch.setenv("SALAD_API_KEY", fake.api_key)
        monkeypatch.setenv("SALAD_ORGANIZATION", fake.organization)
        monkeypatch.setenv("SALAD_PROJECT", fake.project)
        yield fake


def test_salad_group_lifecycle(salad: FakeSaladApi, capsys) -> None:
    code, _, err = run_cli(
        capsys, "endpoint", "create", "--provider", "salad", "--gpu-class", "RTX 4090 (24 GB)",
        "--replicas", "2",
    )  # fmt: skip
    assert code == 0, err
    group = salad.groups["krita-comfyui"]
    assert group["networking"]["auth"] is True and group["networking"]["port"] == 3000
    assert group["readiness_probe"]["http"]["path"] == "/ready"
    assert group["container"]["resources"]["gpu_classes"] == [
        "ed563892-aacd-40f5-80b7-90c9be6c759b"
    ]
    assert "--backend salad --server https://krita-comfyui-x7k2.salad.cloud" in err
    code, out, _ = run_cli(
        capsys, "endpoint", "status", "krita-comfyui", "--provider", "salad", "--json"
    )
    status = json.loads(out)
    assert status["status"] == "running" and status["ready"] == 2
    assert status["url"] == "https://krita-comfyui-x7k2.salad.cloud"
    code, _, _ = run_cli(capsys, "endpoint", "stop", "krita-comfyui", "--provider", "salad")
    assert code == 0 and group["current_state"]["status"] == "stopped"
    code, _, _ = run_cli(capsys, "endpoint", "start", "krita-comfyui", "--provider", "salad")
    assert code == 0 and group["current_state"]["status"] == "deploying"
    code, out, _ = run_cli(capsys, "endpoint", "list", "--provider", "salad")
    assert "krita-comfyui" in out
    code, _, _ = run_cli(capsys, "endpoint", "delete", "krita-comfyui", "--provider", "salad")
    assert code == 0 and salad.groups == {}


def test_salad_unknown_gpu_class_lists_the_known_ones(salad: FakeSaladApi, capsys) -> None:
    code, _, err = run_cli(
        capsys, "endpoint", "create", "--provider", "salad", "--gpu-class", "H100"
    )
    assert code == 1 and "H100" in err and "RTX 4090" in err
    assert salad.groups == {}


def test_salad_without_organization_says_where_to_find_it(
    salad: FakeSaladApi, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALAD_ORGANIZATION")
    code, _, err = run_cli(capsys, "endpoint", "list", "--provider", "salad")
    assert code == 1 and "--organization" in err


def test_salad_wrong_key_is_not_echoed(
    salad: FakeSaladApi, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALAD_API_KEY", "salad-wrong-999999")
    code, _, err = run_cli(capsys, "endpoint", "list", "--provider", "salad")
    assert code == 1 and "API key" in err and "salad-wrong" not in err
