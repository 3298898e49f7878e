"""Waiting until a new pod really serves ComfyUI: provider says running AND ComfyUI answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp

from ..comfy.config import ServerConfig
from ..comfy.errors import ConnectionFailure, FailureKind
from ..comfy.http import system_stats
from .errors import PodFailed, PodTokenRefused
from .models import PodState
from .provider import Provider

Probe = Callable[[str, str | None], Awaitable[bool]]
OnState = Callable[[str], None]


async def comfyui_answers(url: str, token: str | None = None) -> bool:
    """True when ``url/system_stats`` is ComfyUI's (the ComfyUI client's own check). An HTML
    page (a pod whose ComfyUI is still starting), a proxy error or no connection are all "not
    yet". A 401/403 (the pod's auth proxy refusing the token) will not pass by waiting: raises
    :class:`PodTokenRefused`."""
    config = ServerConfig(url.rstrip("/"), token=token, request_timeout=15.0)
    try:
        async with aiohttp.ClientSession(
            headers=config.auth_headers(), timeout=aiohttp.ClientTimeout(total=15)
        ) as session:
            await system_stats(session, config)
    except ConnectionFailure as e:
        if e.kind is FailureKind.AUTH:
            raise PodTokenRefused(
                "The pod's server refused the plugin's access token, so it cannot be "
                "used. Terminate this pod and create a new one from the plugin.",
                status=_status(e),
            ) from None
        return False
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
        return False
    return True


def _status(failure: ConnectionFailure) -> int:
    return 403 if "403" in failure.message + failure.details else 401


async def wait_until_ready(
    provider: Provider,
    pod_id: str,
    port: int,
    *,
    token: str | None = None,
    on_state: OnState | None = None,
    probe: Probe = comfyui_answers,
    timeout: float = 1800,
    poll: float = 5.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Return the pod's ComfyUI URL once it answers; report states as they pass
    ("provisioning", "starting", "loading models", "ready")."""
    deadline = clock() + timeout
    last = None

    def report(state: str) -> None:
        nonlocal last
        if state != last and on_state is not None:
            on_state(state)
        last = state

    while True:
        pod = await provider.get_pod(pod_id)
        if pod is None or pod.state is PodState.terminated:
            raise PodFailed("The pod was terminated while starting. Create a new one.")
        if pod.state in (PodState.error, PodState.stopped):
            reason = f" ({pod.message})" if pod.message else ""
            raise PodFailed(
                f"The pod stopped while starting: it is {pod.raw_status or pod.state.value}{reason}. "
                "Terminate it and create a new one, perhaps with another GPU.",
            )
        url = provider.service_url(pod, port) if pod.state is PodState.running else None
        if url is None:
            report(pod.state.value)
        elif await probe(url, token):
            report("ready")
            return url
        else:
            report("loading models")
        if clock() > deadline:
            raise PodFailed(
                f"The pod did not become ready within {int(timeout / 60)} minutes. It may still be "
                "downloading models: check it in the provider's console, or stop it to save money."
            )
        await sleep(poll)
