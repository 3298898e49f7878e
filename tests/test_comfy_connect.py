"""Connecting to whatever a painter pastes, and a clear message for every way it can fail."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from aiohttp import web

from ai_diffusion.comfy import (
    ComfyClient,
    ConnectionFailure,
    FailureKind,
    ServerConfig,
    normalize_url,
)
from tests.captures import capture
from tests.comfy_fixtures import RunningServer


@pytest.mark.parametrize(
    "pasted, expected",
    [
        ("  localhost:8188/ ", "http://localhost:8188"),
        ("127.0.0.1:8188", "http://127.0.0.1:8188"),
        ("73.12.4.9:40123", "http://73.12.4.9:40123"),
        ("abc123xyz-8188.proxy.runpod.net", "https://abc123xyz-8188.proxy.runpod.net"),
        ("https://abc123xyz-8188.proxy.runpod.net///", "https://abc123xyz-8188.proxy.runpod.net"),
        ("https://example.com/comfy/", "https://example.com/comfy"),
        ("http://example.com/comfy/ws", "http://example.com/comfy"),
        ("'http://[::1]:8188'", "http://[::1]:8188"),
        ("wss://pod.example.com", "https://pod.example.com"),
    ],
)
def test_pasted_urls_are_normalized(pasted: str, expected: str) -> None:
    assert normalize_url(pasted)[0] == expected


def test_credentials_in_the_url_become_basic_auth() -> None:
    config = ServerConfig("https://painter:s3cr%40t@example.com:8443/").normalized()
    assert config.url == "https://example.com:8443"
    assert (config.username, config.password) == ("painter", "s3cr@t")
    assert config.auth_headers()["Authorization"].startswith("Basic ")
    assert "s3cr" not in repr(config)
    assert config.websocket_url("abc") == "wss://example.com:8443/ws?clientId=abc"


@pytest.mark.parametrize("bad", ["", "   ", "ftp://x", "http://host:99999"])
def test_invalid_urls_say_what_an_address_looks_like(bad: str) -> None:
    with pytest.raises(ConnectionFailure) as error:
        normalize_url(bad)
    assert error.value.kind is FailureKind.INVALID_URL


async def _failure(url: str, **options) -> ConnectionFailure:
    with pytest.raises(ConnectionFailure) as error:
        client = await ComfyClient.connect(ServerConfig(url, **options))
        await client.close()
    return error.value


async def test_html_page_with_200_means_pod_still_starting(server: RunningServer) -> None:
    server.fake.faults.html_200 = True
    failure = await _failure(server.url)
    assert failure.kind is FailureKind.STARTING
    assert "still starting" in failure.message


async def test_login_page(server: RunningServer) -> None:
    server.fake.faults.login_page = True
    failure = await _failure(server.url)
    assert failure.kind is FailureKind.LOGIN_PAGE and "login page" in failure.message


@pytest.mark.parametrize("status", [502, 503, 504, 524])
async def test_proxy_errors_say_comfyui_is_not_reachable_yet(
    server: RunningServer, status: int
) -> None:
    server.fake.faults.status = status
    failure = await _failure(server.url)
    assert failure.kind is FailureKind.PROXY_UNAVAILABLE
    assert str(status) in failure.message and "few minutes" in failure.message


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures_ask_for_credentials(server: RunningServer, status: int) -> None:
    server.fake.faults.status = status
    failure = await _failure(server.url)
    assert failure.kind is FailureKind.AUTH and "token" in failure.message


async def test_token_is_sent_on_http_and_websocket(server: RunningServer) -> None:
    server.fake.faults.token = "tok-123456"
    assert (await _failure(server.url)).kind is FailureKind.AUTH
    client = await ComfyClient.connect(ServerConfig(server.url, token="tok-123456"))
    await client.close()


async def _serve(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


async def test_a_server_that_is_not_comfyui() -> None:
    app = web.Application()
    app.router.add_get("/system_stats", lambda r: web.json_response({"hello": "world"}))
    runner, port = await _serve(app)
    try:
        failure = await _failure(f"http://127.0.0.1:{port}")
        assert failure.kind is FailureKind.NOT_COMFYUI and "not a ComfyUI server" in failure.message
        failure = await _failure(f"http://127.0.0.1:{port}/other-prefix")
        assert failure.kind is FailureKind.NOT_COMFYUI  # 404
    finally:
        await runner.cleanup()


async def test_timeout(server: RunningServer) -> None:
    server.fake.faults.delay = 2.0
    failure = await _failure(server.url, request_timeout=0.3)
    assert failure.kind is FailureKind.TIMEOUT and "did not answer in time" in failure.message


async def test_unknown_host_name() -> None:
    failure = await _failure("https://no-such-pod-8188.proxy.invalid")
    assert failure.kind is FailureKind.DNS and "could not be found" in failure.message


async def test_connection_refused() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    failure = await _failure(f"127.0.0.1:{port}")
    assert failure.kind is FailureKind.REFUSED and "SSH tunnel" in failure.message


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_self_signed_certificate_fails_then_works_with_opt_out(
    self_signed: tuple[Path, Path],
) -> None:
    from tests.fakes.comfy_server import FakeComfy

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    runner, port = await _serve(FakeComfy.create().app(), context)
    try:
        failure = await _failure(f"https://127.0.0.1:{port}")
        assert failure.kind is FailureKind.TLS and "Verify TLS certificate" in failure.message
        client = await ComfyClient.connect(
            ServerConfig(f"https://127.0.0.1:{port}", verify_tls=False)
        )
        assert client.models.checkpoints
        await client.close()
    finally:
        await runner.cleanup()


async def test_websocket_refused_while_http_works(server: RunningServer) -> None:
    server.fake.faults.refuse_ws = True
    failure = await _failure(server.url)
    assert failure.kind is FailureKind.WEBSOCKET_REFUSED
    assert "websockets" in failure.message


async def test_thousands_of_models_are_discovered(tmp_path: Path) -> None:
    from tests.comfy_fixtures import start_server
    from tests.fakes.comfy_server import FakeComfy

    running = await start_server(FakeComfy.create(extra_models=5000))
    try:
        client = await ComfyClient.connect(ServerConfig(running.url))
        listed = {
            k: len(capture().http[f"GET /models/{k}"]["body"]) for k in ("checkpoints", "loras")
        }
        assert len(client.models.checkpoints) == 5000 + listed["checkpoints"]
        assert len(client.models.loras) == 5000 + listed["loras"]
        await client.close()
    finally:
        await running.runner.cleanup()
