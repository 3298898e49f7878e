"""The workflows saved on the server by the ComfyUI page (its user data folder, ComfyUI's
``app/user_manager.py``): ``GET /api/userdata?dir=workflows`` lists them (file names relative
to that folder; 404 while there is none yet), ``GET /api/userdata/workflows%2F{name}`` gives
one (the page's JSON, as saved)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp

from .config import ServerConfig
from .errors import ConnectionFailure, FailureKind
from .http import network_failure, status_failure

FOLDER = "workflows"


async def saved_workflows(session: aiohttp.ClientSession, config: ServerConfig) -> list[str]:
    """Names of the saved workflows (with sub-folders, e.g. "portraits/soft.json"), sorted."""
    path = f"/api/userdata?dir={FOLDER}&recurse=true"
    status, body = await _get(session, config, path)
    if status == 404:  # no workflow saved yet: the folder does not exist
        return []
    if status != 200:
        raise status_failure(config, status, body.decode("utf-8", "replace"), path)
    try:
        names = json.loads(body)
    except ValueError:
        names = None
    if not isinstance(names, list):
        raise ConnectionFailure(
            FailureKind.NOT_COMFYUI,
            f"{config.url} did not list its saved workflows as ComfyUI does. Check that it is "
            "ComfyUI, and that it is up to date.",
            details=body[:200].decode("utf-8", "replace"),
        )
    return sorted(n for n in names if isinstance(n, str) and n.lower().endswith(".json"))


async def saved_workflow(session: aiohttp.ClientSession, config: ServerConfig, name: str) -> bytes:
    """The file of the saved workflow ``name`` (as listed by :func:`saved_workflows`)."""
    path = "/api/userdata/" + quote(f"{FOLDER}/{name}", safe="")
    status, body = await _get(session, config, path)
    if status == 404:
        raise ConnectionFailure(
            FailureKind.HTTP_ERROR,
            f"The server has no saved workflow named {name}. Check the name (the list shows "
            "the saved ones).",
        )
    if status != 200:
        raise status_failure(config, status, body.decode("utf-8", "replace"), path)
    return body


async def _get(session: aiohttp.ClientSession, config: ServerConfig, path: str) -> tuple[int, Any]:
    try:
        async with session.get(config.endpoint(path)) as response:
            return response.status, await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
        raise network_failure(config, e) from e
