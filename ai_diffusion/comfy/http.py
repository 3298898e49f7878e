"""HTTP requests to the server, with every failure turned into a message for the painter."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp

from . import answers
from .config import ServerConfig
from .errors import ConnectionFailure, FailureKind

PROXY_STATUSES = {502, 503, 504, 520, 521, 522, 523, 524}


def network_failure(config: ServerConfig, error: BaseException) -> ConnectionFailure:
    """The painter-facing failure for an exception raised while reaching ``config.url``."""
    url = config.url
    if isinstance(error, ConnectionFailure):
        return error
    if isinstance(error, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return ConnectionFailure(
            FailureKind.TIMEOUT,
            f"{url} did not answer in time. The server may be busy or still starting, or the "
            "address is wrong. Check the address and try again in a minute.",
            details=repr(error),
        )
    if isinstance(error, aiohttp.ClientSSLError) and "WRONG_VERSION_NUMBER" in str(error):
        return ConnectionFailure(
            FailureKind.TLS,
            f"{url} does not speak https on that port. If it is a plain ComfyUI (or an SSH "
            "tunnel to one), use an address starting with http:// instead.",
            details=repr(error),
        )
    if isinstance(error, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)):
        return ConnectionFailure(
            FailureKind.TLS,
            f"The secure connection to {url} failed: its certificate is not trusted (for "
            "example a self-signed one). If you trust this server, turn off "
            "'Verify TLS certificate' in the connection settings; otherwise check the address.",
            details=repr(error),
        )
    if isinstance(error, aiohttp.ClientConnectorError):
        os_error = error.os_error
        if isinstance(os_error, socket.gaierror) or "Name or service not known" in str(error):
            return ConnectionFailure(
                FailureKind.DNS,
                f"The server name in {url} could not be found. Check the address for typos; "
                "a RunPod pod that was terminated no longer has a name.",
                details=repr(error),
            )
        return ConnectionFailure(
            FailureKind.REFUSED,
            f"Nothing answered at {url} (connection refused). Is ComfyUI running, on this "
            "port? For an SSH tunnel, check that the tunnel is open.",
            details=repr(error),
        )
    if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, ConnectionError)):
        return ConnectionFailure(
            FailureKind.DROPPED,
            f"The connection to {url} was cut. Check your internet connection and try again.",
            details=repr(error),
        )
    return ConnectionFailure(
        FailureKind.HTTP_ERROR,
        f"Could not talk to {url}: {error}. Check the address and try again.",
        details=repr(error),
    )


def _looks_like_login(text: str) -> bool:
    lower = text.lower()
    return (
        'type="password"' in lower
        or "type='password'" in lower
        or "sign in" in lower
        or "log in" in lower
    )


def status_failure(config: ServerConfig, status: int, body: str, path: str) -> ConnectionFailure:
    url = config.url
    if status in (401, 403):
        how = "a token" if not config.token else "a different token"
        return ConnectionFailure(
            FailureKind.AUTH,
            f"{url} refused access ({status}). The server needs {how} or a user name and "
            "password: enter them in the connection settings.",
        )
    if status in PROXY_STATUSES:
        return ConnectionFailure(
            FailureKind.PROXY_UNAVAILABLE,
            f"The proxy in front of {url} answered {status}: ComfyUI behind it is not reachable "
            "yet. A new pod needs a few minutes to start; try again shortly. If it persists, "
            "check that the pod is running and exposes ComfyUI's port.",
        )
    if status == 404:
        return ConnectionFailure(
            FailureKind.NOT_COMFYUI,
            f"{url} answered, but it is not a ComfyUI server ({path} not found). Check the "
            "address and port: RunPod addresses end in -PORT.proxy.runpod.net, ComfyUI's port "
            "is usually 8188.",
        )
    return ConnectionFailure(
        FailureKind.HTTP_ERROR,
        f"{url} answered {path} with an error ({status}). Try again; if it persists, restart "
        "ComfyUI on the server.",
        details=body[:300],
    )


def html_failure(config: ServerConfig, body: str) -> ConnectionFailure:
    if _looks_like_login(body):
        return ConnectionFailure(
            FailureKind.LOGIN_PAGE,
            f"{config.url} shows a login page instead of ComfyUI. Enter the token or user name "
            "and password of that login in the connection settings.",
        )
    return ConnectionFailure(
        FailureKind.STARTING,
        f"{config.url} answered with a web page instead of ComfyUI. If this is a new pod, "
        "ComfyUI is still starting or downloading models: wait a few minutes and connect again.",
    )


async def get_json(session: aiohttp.ClientSession, config: ServerConfig, path: str) -> Any:
    try:
        async with session.get(config.endpoint(path)) as response:
            body = await response.text(errors="replace")
            if response.status != 200:
                raise status_failure(config, response.status, body, path)
            try:
                return json.loads(body)
            except ValueError:
                if "<html" in body[:2000].lower() or "<!doctype" in body[:200].lower():
                    raise html_failure(config, body) from None
                raise ConnectionFailure(
                    FailureKind.NOT_COMFYUI,
                    f"{config.url} answered {path} with something that is not ComfyUI's data. "
                    "Check the address and port.",
                    details=body[:200],
                ) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        raise network_failure(config, e) from e


async def system_stats(session: aiohttp.ClientSession, config: ServerConfig) -> dict[str, Any]:
    """``/system_stats``, proving the server is ComfyUI."""
    return answers.system_stats(await get_json(session, config, "/system_stats"), config.url)
