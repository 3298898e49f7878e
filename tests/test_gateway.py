"""The pod gateway as it runs on a pod: a real process in front of the fake ComfyUI (its own
process), fetching from a model host (its own process) that slows, cuts, redirects and lies.

Every transfer ends with the right file in the right folder, or with a clear error and nothing
left behind (no part file). Requests without the token reach nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ai_diffusion.cloud.errors import AuthError, Conflict, InvalidRequest
from ai_diffusion.cloud.gateway import GatewayClient, guess_folder
from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished, Preview
from ai_diffusion.pod_gateway import gateway_source
from ai_diffusion.request import GenerationRequest, Sampling
from ai_diffusion.workflow import build_workflow
from tests.backend_fixtures import txt2img
from tests.comfy_fixtures import CHECKPOINT, collect, png
from tests.fake_serving import ROOT, fake_in_process, free_port, gateway_in_process
from tests.fakes.file_server import CuttingLink, content, sha256

TOKEN = "gateway-test-token-7c1e9a2b5d"
MB = 2**20


@pytest.fixture(scope="module")
def comfy() -> Iterator[str]:
    with fake_in_process("tests.fakes.comfy_server") as url:
        yield url


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    with fake_in_process("tests.fakes.file_server") as url:
        yield url


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def gateway(comfy: str, models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python gateway.py`` with the token in its environment, as a pod starts it."""
    log = tmp_path_factory.mktemp("gateway") / "gateway.log"
    with gateway_in_process(comfy, models, TOKEN, log) as url:
        yield url
    assert TOKEN not in log.read_text()  # the token never reaches the log


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(gateway: str, session: aiohttp.ClientSession) -> GatewayClient:
    return GatewayClient(gateway, TOKEN, session, sleep=lambda s: asyncio.sleep(min(s, 0.1)))


def leftovers(models: Path) -> list[str]:
    return [p.name for p in models.rglob("*") if p.name.endswith(".gateway-part")]


async def fetch(client: GatewayClient, url: str, folder: str = "loras", **kwargs):  # type: ignore[no-untyped-def]
    transfer_id = await client.download(url, folder, **kwargs)
    try:
        return await asyncio.wait_for(client.wait(transfer_id, poll=0.05), 30)
    except InvalidRequest as e:
        return e


# Locked -------------------------------------------------------------------------------------


async def test_without_the_token_nothing_reaches_comfyui(
    gateway: str, session: aiohttp.ClientSession
) -> None:
    graph = {"prompt": {"1": {"class_type": "EmptyLatentImage", "inputs": {}}}}
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token-0000000000"},
        {"Authorization": TOKEN},
    ):
        for method, path in [
            ("GET", "/system_stats"),
            ("POST", "/prompt"),
            ("GET", "/gateway/models/downloads"),
        ]:
            async with session.request(method, gateway + path, json=graph, headers=headers) as r:
                assert r.status == 401, (headers, path)
                body = await r.json()
                assert "refused access" in body["error"] and TOKEN not in json.dumps(body)
        async with session.get(gateway + "/ws?clientId=x", headers={**headers, "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}) as r:  # fmt: skip
            assert r.status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with session.get(gateway + "/queue", headers=auth) as r:
        queue = await r.json()
    assert queue["queue_running"] == [] and queue["queue_pending"] == []
    async with session.get(gateway + "/history", headers=auth) as r:
        assert await r.json() == {}
    async with session.get(gateway + "/gateway/health") as r:  # open, and says nothing secret
        assert r.status == 200 and (await r.json())["status"] == "ok"


async def test_comfyui_through_the_gateway_previews_and_results(gateway: str) -> None:
    client = await ComfyClient.connect(ServerConfig(gateway, token=TOKEN))
    try:
        assert client.models.checkpoints and client.models.device.name
        job = await client.enqueue(build_workflow(txt2img(), client.models.object_info))
        events = await collect(client, {job})
        edit = GenerationRequest(
            checkpoint=CHECKPOINT, image=png(64, 64), strength=0.5, sampling=Sampling(steps=1)
        )  # its image goes up as a multipart body
        edited = await collect(
            client, {await client.enqueue(build_workflow(edit, client.models.object_info))}
        )
    finally:
        await client.close()
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and previews[0].image.startswith(b"\xff\xd8")  # binary frames unchanged
    assert isinstance(events[-1], Finished) and events[-1].images[0].startswith(b"\x89PNG")
    assert isinstance(edited[-1], Finished)


async def test_websocket_with_the_token_in_its_address(
    gateway: str, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(
        f"{gateway.replace('http', 'ws')}/ws?clientId=q&token={TOKEN}"
    ) as ws:
        first = await ws.receive_json(timeout=5)
    assert first["type"] == "status"


async def test_wrong_token_for_the_comfy_client_is_refused(gateway: str) -> None:
    with pytest.raises(Exception) as caught:
        await ComfyClient.connect(ServerConfig(gateway, token="not-the-token-123456"))
    assert "401" in str(caught.value) and "not-the-token" not in str(caught.value)


# Downloads ----------------------------------------------------------------------------------


async def test_ranged_download_lands_in_its_folder(
    client: GatewayClient, files: str, models: Path
) -> None:
    size = 4 * MB + 123
    done = await fetch(
        client,
        f"{files}/files/{size}/style-lora.safetensors",
        sha256=sha256("style-lora.safetensors", size),
    )
    assert done.state == "done" and done.done == size and done.filename == "style-lora.safetensors"
    assert (models / "loras" / "style-lora.safetensors").read_bytes() == content(
        "style-lora.safetensors", size
    )
    assert leftovers(models) == []
    async with client.session.get(f"{files}/log") as r:
        ranges = {e["range"] for e in await r.json() if "style-lora" in e["path"]}
    assert len(ranges - {"bytes=0-0"}) == 4  # 4 parts of at least 1 MiB


async def test_dropped_connections_resume_where_they_stopped(
    client: GatewayClient, files: str, models: Path
) -> None:
    size, name = 3 * MB, "cut.safetensors"
    url = f"{files}/files/{size}/{name}?cut=300000&cuts=4"
    done = await fetch(client, url, folder="checkpoints", sha256=sha256(name, size))
    assert done.state == "done", done
    assert hashlib.sha256((models / "checkpoints" / name).read_bytes()).hexdigest() == sha256(
        name, size
    )
    async with client.session.get(f"{files}/log") as r:
        starts = [e["range"] for e in await r.json() if e["path"].endswith(name)]
    assert any(not s.startswith(("bytes=0-", "bytes=1048576-", "bytes=2097152-")) for s in starts)


async def test_server_without_ranges_streams_once(
    client: GatewayClient, files: str, models: Path
) -> None:
    size, name = 2 * MB, "plain-vae.safetensors"
    done = await fetch(
        client, f"{files}/files/{size}/{name}?norange=1&chunked=1", folder="vae", size=size
    )
    assert done.state == "done" and (models / "vae" / name).stat().st_size == size


async def test_wrong_checksum_leaves_nothing(
    client: GatewayClient, files: str, models: Path
) -> None:
    size, name = 2 * MB, "bad.safetensors"
    failed = await fetch(
        client, f"{files}/files/{size}/{name}?corrupt=1", sha256=sha256(name, size)
    )
    assert isinstance(failed, InvalidRequest) and "checksum" in failed.message
    assert not (models / "loras" / name).exists() and leftovers(models) == []


async def test_redirect_to_another_host_drops_the_key(
    client: GatewayClient, files: str, models: Path
) -> None:
    port = files.rsplit(":", 1)[1]
    size, name = 2 * MB, "civitai-model.safetensors"
    url = f"{files}/redirect/localhost:{port}/files/{size}/{name}?auth=civitai-key-123"
    failed = await fetch(client, url, headers={"Authorization": "Bearer civitai-key-123"})
    assert isinstance(failed, InvalidRequest) and "login" in failed.message  # not sent on
    async with client.session.get(f"{files}/log") as r:
        seen = [e for e in await r.json() if name in e["path"]]
    assert {(e["host"].split(":")[0], e["auth"]) for e in seen} == {
        ("127.0.0.1", True),
        ("localhost", False),
    }
    same_host = f"{files}/redirect/127.0.0.1:{port}/files/{size}/{name}?auth=civitai-key-123"
    done = await fetch(client, same_host, headers={"Authorization": "Bearer civitai-key-123"})
    assert done.state == "done" and (models / "loras" / name).exists()


async def test_names_from_the_server(client: GatewayClient, files: str, models: Path) -> None:
    size = MB
    done = await fetch(
        client,
        f"{files}/files/{size}/api/download/12345?cd=nice-upscaler.pth",
        folder="upscale_models",
    )
    assert done.state == "done" and (models / "upscale_models" / "nice-upscaler.pth").exists()
    for evil in ("../evil.safetensors", "/etc/evil.safetensors", "a\\b.safetensors"):
        failed = await fetch(client, f"{files}/files/{size}/x?cd={evil}")
        assert isinstance(failed, InvalidRequest) and "not allowed" in failed.message, evil
    assert not (models / "evil.safetensors").exists() and leftovers(models) == []


async def test_refused_before_starting(client: GatewayClient, files: str) -> None:
    url = f"{files}/files/{MB}/x.safetensors"
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"folder": "custom_nodes"}, InvalidRequest, "not a model folder"),
        ({"filename": "../x.safetensors"}, InvalidRequest, "not allowed"),
        ({"filename": "a\0b"}, InvalidRequest, "not allowed"),
        ({"size": 10**18}, InvalidRequest, "Not enough space"),
        ({"filename": "style-lora.safetensors"}, Conflict, "already has"),
    ]
    for options, kind, words in cases:
        with pytest.raises(kind) as caught:
            await client.download(url, **{"folder": "loras", **options})
        assert words in str(caught.value)
    missing = await fetch(client, f"{files}/nothing-here", filename="n.safetensors")
    assert isinstance(missing, InvalidRequest) and "404" in missing.message
    nowhere = await fetch(client, f"http://127.0.0.1:{free_port()}/m.safetensors")
    assert isinstance(nowhere, InvalidRequest) and "could not reach" in nowhere.message


async def test_cancel_removes_the_part(client: GatewayClient, files: str, models: Path) -> None:
    transfer_id = await client.download(
        f"{files}/files/{4 * MB}/slow.safetensors?rate=200000", "loras"
    )
    for _ in range(100):
        if (await client.status(transfer_id)).done > 0:
            break
        await asyncio.sleep(0.05)
    assert leftovers(models)
    cancelled = await client.cancel(transfer_id)
    assert cancelled.state == "cancelled" and leftovers(models) == []
    assert not (models / "loras" / "slow.safetensors").exists()
    assert transfer_id in {t.id for t in await client.downloads()}


# Uploads ------------------------------------------------------------------------------------


async def test_upload_resumes_after_a_cut_mid_chunk(
    gateway: str, session: aiohttp.ClientSession, models: Path, tmp_path: Path
) -> None:
    source = tmp_path / "my-lora.safetensors"
    source.write_bytes(content("upload", 3 * MB + 7))
    seen: list[tuple[int, int]] = []
    port = int(gateway.rsplit(":", 1)[1])
    async with CuttingLink(port, cut_after=MB + MB // 2) as link:
        client = GatewayClient(link.url, TOKEN, session, sleep=lambda s: asyncio.sleep(0.05))
        done = await client.upload(source, "loras", lambda d, t: seen.append((d, t)), chunk=MB)
    assert link.cut_done and done.state == "done"
    assert (models / "loras" / source.name).read_bytes() == source.read_bytes()
    assert seen[-1] == (source.stat().st_size, source.stat().st_size) and leftovers(models) == []


async def test_upload_refusals(
    client: GatewayClient,
    gateway: str,
    session: aiohttp.ClientSession,
    models: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "my-lora.safetensors"  # already on the pod (the test above)
    source.write_bytes(b"x" * 1000)
    with pytest.raises(Conflict):
        await client.upload(source, "loras")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"folder": "loras", "filename": "other.safetensors", "size": 10, "sha256": "0" * 64}
    async with session.post(gateway + "/gateway/models/uploads", json=body, headers=auth) as r:
        upload = await r.json()
    where = f"{gateway}/gateway/models/uploads/{upload['id']}"
    async with session.put(where, params={"offset": "5"}, data=b"abc", headers=auth) as r:
        assert r.status == 409 and (await r.json())["offset"] == 0
    async with session.put(where, params={"offset": "0"}, data=b"0123456789", headers=auth) as r:
        answer = await r.json()
    assert r.status == 422 and answer["state"] == "failed" and "checksum" in answer["error"]
    assert not (models / "loras" / "other.safetensors").exists() and leftovers(models) == []
    with pytest.raises(AuthError):
        await GatewayClient(gateway, "wrong-token-123456789", session).downloads()


# The plugin's side --------------------------------------------------------------------------


def test_source_is_self_contained() -> None:
    source = gateway_source()
    assert "ai_diffusion" not in source.split('"""', 2)[2].replace("ai_diffusion pod gateway", "")
    imports = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imports <= {
        "__future__",
        "argparse",
        "asyncio",
        "email",
        "errno",
        "hashlib",
        "hmac",
        "logging",
        "os",
        "shutil",
        "time",
        "uuid",
        "collections",
        "pathlib",
        "typing",
        "urllib",
        "aiohttp",
    }


@pytest.mark.parametrize(
    ("name", "folder"),
    [
        ("detail-tweaker-lora.safetensors", "loras"),
        ("https://huggingface.co/x/y/resolve/main/sdxl_vae.safetensors", "vae"),
        ("4x-UltraSharp.pth", "upscale_models"),
        ("t5xxl_fp8_e4m3fn.safetensors", "text_encoders"),
        ("controlnet-canny-sdxl.safetensors", "controlnet"),
        ("https://civitai.com/api/download/models/12345", None),
        ("juggernautXL_v9.safetensors", None),
    ],
)
def test_guess_folder(name: str, folder: str | None) -> None:
    assert guess_folder(name) == folder


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AI_DIFFUSION_TOKEN"}
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**environment, **(env or {})},
    )  # fmt: skip


def test_cli_adds_and_uploads(gateway: str, files: str, models: Path, tmp_path: Path) -> None:
    url = f"{files}/files/{MB}/cli-detail-lora.safetensors"
    added = cli("models", "add", url, "--server", gateway, "--token", TOKEN)
    assert added.returncode == 0, added.stderr
    assert added.stdout == "loras/cli-detail-lora.safetensors: done\n"  # the folder guessed
    assert "MB" in added.stderr and (models / "loras" / "cli-detail-lora.safetensors").exists()
    source = tmp_path / "painting-style.safetensors"
    source.write_bytes(content("cli-upload", MB // 2))
    sent = cli("models", "upload", str(source), "--folder", "checkpoints", "--server", gateway,
               env={"AI_DIFFUSION_TOKEN": TOKEN})  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert (models / "checkpoints" / source.name).read_bytes() == source.read_bytes()
    unknown = cli("models", "add", f"{files}/files/{MB}/juggernaut.safetensors", "--server", gateway, "--token", TOKEN)  # fmt: skip
    assert unknown.returncode == 1 and "--folder" in unknown.stderr
    refused = cli("models", "upload", str(source), "--folder", "loras", "--server", gateway, "--token", "wrong-token-12345678")  # fmt: skip
    assert refused.returncode == 1 and "refused the access token" in refused.stderr
    for result in (added, sent, unknown, refused):
        assert TOKEN not in result.stdout + result.stderr
