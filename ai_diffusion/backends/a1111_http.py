"""HTTP to an Automatic1111/Forge WebUI, with every failure in the painter's words: a wrong or
missing login (``--api-auth``), an API that is off (started without ``--api``), values the
WebUI refuses (422), a GPU out of memory, a proxy whose WebUI is not up yet."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from ..comfy.config import ServerConfig
from ..comfy.errors import ConnectionFailure, FailureKind, ServerRejected
from ..comfy.http import PROXY_STATUSES, html_failure, network_failure

OOM_MARKERS = ("out of memory", "outofmemory", "cuda error: out of memory")


def webui_network_failure(config: ServerConfig, error: BaseException) -> ConnectionFailure:
    failure = network_failure(config, error)
    if failure.kind is FailureKind.REFUSED:
        return ConnectionFailure(
            FailureKind.REFUSED,
            f"Nothing answered at {config.url} (connection refused). Is the WebUI running, on "
            "this port? With --nowebui its API listens on 7861, otherwise on 7860.",
            details=failure.details,
        )
    return failure


def _detail(body: str) -> tuple[str, Any]:
    """The WebUI's error text (``detail``, then ``errors``) and the parsed body."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.strip()[:300], None
    if not isinstance(data, dict):
        return str(data)[:300], data
    detail = data.get("detail")
    if isinstance(detail, str) and detail:
        return detail, data
    errors = data.get("errors")
    return (str(errors) if errors else str(detail or data.get("error") or ""))[:300], data


def _validation_problems(data: Any) -> str:
    """FastAPI's 422 body as 'field: problem' items."""
    items = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return ""
    problems = []
    for item in items[:5]:
        if isinstance(item, dict):
            where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
    return "; ".join(problems)


def status_error(config: ServerConfig, status: int, body: str, path: str) -> Exception:
    """The painter-facing error for a non-200 answer to ``path``."""
    url = config.url
    text, data = _detail(body)
    if status in (401, 403):
        if config.username:
            message = (
                f"The WebUI at {url} refused the user name and password ({status}). Check them "
                "in the connection settings: they are the --api-auth pair the WebUI was "
                "started with."
            )
        else:
            message = (
                f"The WebUI at {url} asks for a user name and password ({status}): it was "
                "started with --api-auth. Enter that pair in the connection settings."
            )
        return ConnectionFailure(FailureKind.AUTH, message)
    if status in PROXY_STATUSES:
        return ConnectionFailure(
            FailureKind.PROXY_UNAVAILABLE,
            f"The proxy in front of {url} answered {status}: the WebUI behind it is not "
            "reachable yet. A new pod needs a few minutes to start; try again shortly.",
        )
    if status == 404 and text in ("Not Found", ""):
        return ConnectionFailure(
            FailureKind.NOT_COMFYUI,
            f"{url} answered, but its WebUI API is off ({path} not found). Start Automatic1111 "
            "or Forge with --api (or --nowebui), then connect again.",
        )
    if status == 422:
        problems = _validation_problems(data) or text
        return ServerRejected(
            f"The WebUI refused the request's values ({problems}). This version of the WebUI "
            "may expect other fields; please report it with the log file.",
            details=body[:500],
        )
    if any(marker in body.lower() for marker in OOM_MARKERS):
        return ServerRejected(
            "The WebUI's GPU ran out of memory. Use a smaller image or selection, a smaller "
            "batch, or fewer ControlNet layers; or restart the WebUI to free memory.",
            details=body[:500],
        )
    return ServerRejected(
        f"The WebUI refused the job: {text or f'error {status}'}.", details=body[:500]
    )


async def request_json(
    session: aiohttp.ClientSession,
    config: ServerConfig,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> Any:
    kwargs: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    if body is not None:
        kwargs["json"] = body
    try:
        async with session.request(method, config.endpoint(path), **kwargs) as response:
            text = await response.text(errors="replace")
            if response.status != 200:
                raise status_error(config, response.status, text, path)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        raise webui_network_failure(config, e) from e
    try:
        return json.loads(text)
    except ValueError:
        if "<html" in text[:2000].lower() or "<!doctype" in text[:200].lower():
            raise html_failure(config, text) from None
        raise ConnectionFailure(
            FailureKind.NOT_COMFYUI,
            f"{config.url} answered {path} with something that is not the WebUI's data. "
            "Check the address and port.",
            details=text[:200],
        ) from None


async def optional_json(
    session: aiohttp.ClientSession, config: ServerConfig, path: str
) -> Any | None:
    """``path``'s JSON, or None when the route is not there (an older WebUI, no extension)."""
    try:
        return await request_json(session, config, "GET", path)
    except ConnectionFailure as e:
        if e.kind is FailureKind.NOT_COMFYUI:
            return None
        raise
    except ServerRejected:
        return None
