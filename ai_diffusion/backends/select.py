"""Which backend a connection uses, from what the connection settings (or the CLI) say, and
the one ``connect_backend`` the docker and the CLI call for all of them.

Kinds: ``auto`` / ``comfyui`` / ``a1111`` (an address: pod, PC, tunnel; ``auto`` detects
ComfyUI or an Automatic1111/Forge WebUI through :mod:`.detect`; several addresses make a pool),
``runpod-serverless`` (an endpoint id and the RunPod API key), ``salad`` (a container group's
access URL, with the Salad API key when its gateway has auth). API keys come from the caller,
which reads them from the password store (:mod:`ai_diffusion.secrets`) or the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass, replace
from typing import Any

from ..cloud.runpod import DEFAULT_API as RUNPOD_REST_API
from ..cloud.serverless_endpoints import RunPodEndpoints
from ..comfy import ServerConfig
from ..comfy.events import ConnectionState
from ..errors import UserError
from . import detect
from .contract import Backend
from .http import Sleep
from .png_scale import Scaler
from .pool import BackendPool, PoolConfig, member_name
from .runpod_serverless import JOB_API, RunPodServerless, RunPodServerlessConfig
from .salad import SaladComfyApi, SaladConfig

log = logging.getLogger(__name__)
KINDS = {
    "auto": "ComfyUI or WebUI address (pod, PC, tunnel)",
    "comfyui": "ComfyUI server",
    "a1111": "Automatic1111 / Forge WebUI",
    "runpod-serverless": "RunPod Serverless endpoint",
    "salad": "SaladCloud container group",
}
SERVER_KINDS = ("auto", "comfyui", "a1111")  # an address, connected by .detect
RUNPOD_KEY_SECRET = "runpod_api_key"  # the same RunPod key the pod panel keeps
SALAD_KEY_SECRET = "salad_api_key"
RUNPOD_SERVERLESS_API_ENV = "AI_DIFFUSION_RUNPOD_SERVERLESS_API"
RUNPOD_REST_API_ENV = "AI_DIFFUSION_RUNPOD_API"  # the REST API (endpoints, GPU catalog)


@dataclass(frozen=True)
class ServerKind:
    """An address whose kind the painter chose (``comfyui`` or ``a1111``), instead of
    detecting it."""

    server: ServerConfig
    kind: str

    @property
    def url(self) -> str:
        return self.server.url


def split_list(text: str) -> tuple[str, ...]:
    """Addresses or model names as a painter types them: one per line or comma-separated."""
    return tuple(p.strip() for p in text.replace("\n", ",").split(",") if p.strip())


def backend_config(
    kind: str,
    server: ServerConfig,
    *,
    endpoint: str = "",
    api_key: str = "",
    image: str = "",
    models: str = "",
    extra_servers: str = "",
) -> Any:
    """The config ``connect_backend`` takes. ``server`` carries the address, login and TLS
    choice of a ComfyUI (or, for Salad, the group's URL); ``extra_servers`` adds more
    ComfyUI addresses with the same login, making a pool."""
    if kind == "runpod-serverless":
        main: Any = RunPodServerlessConfig(
            endpoint,
            api_key=api_key,
            api_base=os.environ.get(RUNPOD_SERVERLESS_API_ENV) or JOB_API,
            image=image,
            models=split_list(models),
        )
    elif kind == "salad":
        main = SaladConfig(server.url, api_key=api_key)
    elif kind == "auto":
        main = server
    elif kind in SERVER_KINDS:
        main = ServerKind(server, kind)
    else:
        raise UserError(f"Unknown kind of server '{kind}'. Choose one of: {', '.join(KINDS)}.")
    extra: list[Any] = [
        replace(server, url=url) if kind == "auto" else ServerKind(replace(server, url=url), kind)
        for url in split_list(extra_servers)
    ] if kind in SERVER_KINDS else []  # fmt: skip
    return PoolConfig((main, *extra)) if extra else main


async def connect_backend(
    config: Any, *, sleep: Sleep = asyncio.sleep, scale: Scaler | None = None
) -> Backend:
    """Connect whatever ``config`` describes; raises a ``UserError`` in the painter's words.
    ``scale`` (PNG, width, height → PNG) is how results are brought to the asked size where a
    server returns another (the WebUI); the default is pure Python, callers pass a faster one."""
    if isinstance(config, RunPodServerlessConfig):
        backend = await RunPodServerless.connect(config, sleep=sleep)
        if not config.price_per_second:
            backend.config = replace(backend.config, price_per_second=await _price(backend.config))
        return backend
    if isinstance(config, SaladConfig):
        return await SaladComfyApi.connect(config, sleep=sleep)
    if isinstance(config, PoolConfig):
        return await _connect_pool(config, sleep, scale)
    if isinstance(config, ServerKind):
        return await detect.connect_backend(config.server, config.kind, scale)  # type: ignore[arg-type]
    if isinstance(config, ServerConfig):
        return await detect.connect_backend(config, "auto", scale)
    raise TypeError(f"not a backend config: {type(config).__name__}")


async def _connect_pool(config: PoolConfig, sleep: Sleep, scale: Scaler | None) -> Backend:
    """Every member that answers; the others are named in a message. None answering raises
    the first member's error, prefixed with its name."""
    members: list[tuple[str, Backend]] = []
    missing: list[str] = []
    first_error: UserError | None = None
    for member in config.members:
        try:
            backend = await connect_backend(member, sleep=sleep, scale=scale)
            members.append((member_name(member), backend))
        except UserError as e:
            missing.append(f"{member_name(member)}: {e.message}")
            first_error = first_error or UserError(
                f"{member_name(member)}: {e.message}", details=e.details
            )
        except BaseException:
            for _, backend in members:
                with contextlib.suppress(Exception):
                    await backend.close()
            raise
    if not members:
        assert first_error is not None
        raise first_error
    pool = BackendPool(members)
    if missing:
        pool.events.put_nowait(
            ConnectionState(
                "connected",
                f"Connected to {len(members)} of {len(config.members)} servers. Not used: "
                + "; ".join(missing),
            )
        )
    return pool


async def _price(config: RunPodServerlessConfig) -> float:
    """Per-second price of the endpoint's GPUs from RunPod's catalog, for the cost shown per
    job; 0 (no cost shown) when the key may not read it or RunPod does not answer."""
    base = os.environ.get(RUNPOD_REST_API_ENV) or RUNPOD_REST_API
    try:
        endpoints = RunPodEndpoints(
            config.api_key, base_url=base, sleep=_no_retry_pause, timeout=10.0
        )
        endpoints.http.max_attempts = 1
        return await endpoints.price_per_second(config.endpoint_id)
    except UserError as e:
        log.info("serverless price unknown: %s", e)
        return 0.0


async def _no_retry_pause(seconds: float) -> None:
    return None
