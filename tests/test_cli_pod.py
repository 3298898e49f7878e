"""`python -m ai_diffusion pod …` against fake RunPod and vast APIs (base URLs from env)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from ai_diffusion.cli.main import main
from ai_diffusion.secrets import SERVICE
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast
from tests.test_secrets import MemoryKeyring


class ThreadServers:
    """aiohttp apps served from a background thread, for code that runs its own asyncio.run."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def serve(self, app: web.Application) -> str:
        async def start() -> str:
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.runners.append(runner)
            return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)

    def close(self) -> None:
        for runner in self.runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def keyring_backend() -> Iterator[MemoryKeyring]:
    import keyring

    previous, memory = keyring.get_keyring(), MemoryKeyring()
    keyring.set_keyring(memory)  # never the developer's real password store
    yield memory
    keyring.set_keyring(previous)


@pytest.fixture
def comfy() -> FakeComfy:
    return FakeComfy.create()


@pytest.fixture
def fakes(
    monkeypatch: pytest.MonkeyPatch, keyring_backend: MemoryKeyring, comfy: FakeComfy
) -> Iterator[tuple[FakeRunPod, FakeVast]]:
    servers = ThreadServers()
    comfy_url = servers.serve(comfy.app())
    runpod = FakeRunPod(comfy_url=comfy_url)
    vast = FakeVast(comfy_port=int(comfy_url.rsplit(":", 1)[1]))
    monkeypatch.setenv("AI_DIFFUSION_RUNPOD_API", servers.serve(runpod.app()))
    proxy = runpod.proxy_template(servers.serve(runpod.proxy_app()))
    monkeypatch.setenv("AI_DIFFUSION_RUNPOD_PROXY", proxy)
    monkeypatch.setenv("AI_DIFFUSION_VAST_API", servers.serve(vast.app()))
    monkeypatch.setenv("RUNPOD_API_KEY", runpod.api_key)
    monkeypatch.setenv("VAST_API_KEY", vast.api_key)
    yield runpod, vast
    servers.close()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("provider", ["runpod", "vast"])
def test_pod_lifecycle_from_the_command_line(fakes, capsys, provider: str) -> None:
    code, out, _ = run_cli(capsys, "pod", "gpus", "--provider", provider, "--json")
    gpus = json.loads(out)
    assert code == 0 and gpus and all(g["price_per_hour"] > 0 for g in gpus)
    code, out, err = run_cli(capsys, "pod", "create", "--provider", provider, "--json")
    assert code == 0, err
    pod = json.loads(out)
    assert pod["name"].startswith("krita-") and pod["url"].startswith("http://127.0.0.1:")
    assert "ready" in err
    code, out, _ = run_cli(capsys, "pod", "list", "--provider", provider, "--json")
    assert [p["id"] for p in json.loads(out)] == [pod["id"]]
    assert run_cli(capsys, "pod", "stop", pod["id"], "--provider", provider, "--json")[0] == 0
    code, out, _ = run_cli(capsys, "pod", "status", pod["id"], "--provider", provider, "--json")
    assert json.loads(out)["state"] == "stopped"
    assert run_cli(capsys, "pod", "resume", pod["id"], "--provider", provider)[0] == 0
    code, _, err = run_cli(capsys, "pod", "terminate", pod["id"], "--provider", provider)
    assert code == 1 and "--yes" in err  # asks first; no terminal here means no
    assert run_cli(capsys, "pod", "terminate", pod["id"], "--provider", provider, "--yes")[0] == 0
    code, _, err = run_cli(capsys, "pod", "status", pod["id"], "--provider", provider)
    assert code == 1 and "no pod" in err


def test_missing_key_says_where_to_put_it(fakes, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNPOD_API_KEY")
    monkeypatch.setattr(
        "ai_diffusion.cli.cmd_pod.SecretStore",
        lambda: __import__("ai_diffusion.secrets").secrets.SecretStore(use_system=False),
    )
    code, _, err = run_cli(capsys, "pod", "list")
    assert code == 1 and "RUNPOD_API_KEY" in err


def test_wrong_key_is_an_auth_message_without_the_key(
    fakes, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNPOD_API_KEY", "not-the-right-key-42")
    code, out, err = run_cli(capsys, "pod", "list")
    assert code == 1 and "refused the API key" in err
    assert "not-the-right-key-42" not in out + err


def test_vast_image_gets_a_pod_token_kept_in_the_password_store(
    fakes, capsys, monkeypatch: pytest.MonkeyPatch, keyring_backend: MemoryKeyring, comfy: FakeComfy
) -> None:
    token = "pod-token-from-cli-0042"
    monkeypatch.setattr("ai_diffusion.cloud.pod_start.new_token", lambda: token)
    comfy.faults.token = token  # the pod's auth proxy refuses requests without it
    _, vast = fakes
    code, out, err = run_cli(
        capsys, "pod", "create", "--provider", "vast", "--image", "vast-comfyui", "--json"
    )
    assert code == 0, err
    pod = json.loads(out)
    assert "ready" in err  # readiness only passes when the probe sent the Bearer token
    assert vast.instances[int(pod["id"])]["env"]["OPEN_BUTTON_TOKEN"] == token
    assert keyring_backend.items[(SERVICE, pod["token_name"])] == token
    assert token not in out + err and "password store" in err
    code, out, err = run_cli(
        capsys, "pod", "url", pod["id"], "--provider", "vast", "--image", "vast-comfyui"
    )
    assert code == 0 and out.strip() == pod["url"] and pod["token_name"] in err
