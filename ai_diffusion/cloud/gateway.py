"""The pod gateway's client: models added to a pod from a link or from the painter's disk.

The gateway (``ai_diffusion/pod_gateway/gateway.py``) runs on the pod in front of ComfyUI and
takes the pod's access token. Downloads run on the pod; :meth:`GatewayClient.wait` follows
one. Uploads go in chunks and resume after a dropped connection by asking where to go on.
ComfyUI lists a new file on its next ``/object_info``: nothing to restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp

from ..logs import register_secret
from .errors import AuthError, Conflict, InvalidRequest, NotFound, ProviderError, TransientError

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (bytes done, bytes total)
Sleep = Callable[[float], Awaitable[None]]
CHUNK = 8 * 2**20
MAX_CHUNK = 128 * 2**20

# The pod's model folders (subfolders of ComfyUI's models/) and what a painter calls them.
FOLDERS: dict[str, str] = {
    "checkpoints": "checkpoint",
    "diffusion_models": "diffusion model",
    "text_encoders": "text encoder",
    "vae": "VAE",
    "loras": "LoRA",
    "controlnet": "ControlNet",
    "upscale_models": "upscaler",
    "embeddings": "embedding",
    "model_patches": "model patch",
}
# Words in a file name or link that tell its folder (first match wins).
_HINTS = [
    ("loras", r"lora|lycoris|locon"),
    ("controlnet", r"control[-_ ]?net|controlnet|control[-_]|t2i[-_]adapter"),
    ("upscale_models", r"upscal|esrgan|\b\d+x[-_]|swinir|\bdat\b"),
    ("vae", r"(^|[^a-z])vae([^a-z]|$)"),
    ("text_encoders", r"t5xxl|umt5|clip[-_]?[lg]\b|text[-_]?encoder|qwen.*vl"),
    ("embeddings", r"embedding|textual[-_]?inversion|\.pt$"),
]
DONE_STATES = {"done", "failed", "cancelled"}


def guess_folder(name_or_url: str) -> str | None:
    """The folder a file name or link suggests, None when it cannot tell (e.g. Civitai links
    without a name). Only obvious cases: the painter can always choose."""
    text = unquote(urlsplit(name_or_url).path or name_or_url).lower()
    for folder, pattern in _HINTS:
        if re.search(pattern, text):
            return folder
    return None


@dataclass(frozen=True)
class Transfer:
    """A download or an upload as the gateway reports it."""

    id: str
    kind: str  # "download" | "upload"
    state: str  # queued, downloading/uploading, verifying, done, failed, cancelled
    folder: str
    filename: str
    done: int
    total: int | None
    speed: float  # bytes per second, lately
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in DONE_STATES

    @classmethod
    def from_json(cls, body: Any) -> Transfer:
        try:
            return cls(
                id=str(body["id"]),
                kind=str(body.get("kind", "")),
                state=str(body["state"]),
                folder=str(body.get("folder", "")),
                filename=str(body.get("filename", "")),
                done=int(body.get("bytes_done", 0)),
                total=None if body.get("bytes_total") is None else int(body["bytes_total"]),
                speed=float(body.get("speed", 0)),
                error=str(body.get("error", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TransientError(
                "The pod's gateway gave an answer this plugin does not understand. "
                "Update the plugin, or restart the pod.",
                details=repr(body)[:500],
            ) from e


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        session: aiohttp.ClientSession,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        register_secret(token)
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self.session = session
        self.sleep = sleep
        self.retries = 5  # tries in a row without progress before an upload gives up

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(
        cls, base_url: str, token: str, *, verify_tls: bool = True
    ) -> AsyncIterator[GatewayClient]:
        """A client with its own HTTP session (for the CLI), closed at the end of the block."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
        connector = aiohttp.TCPConnector(ssl=verify_tls)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            yield cls(base_url, token, session)

    # Downloads on the pod --------------------------------------------------------------------

    async def download(
        self,
        url: str,
        folder: str,
        filename: str | None = None,
        sha256: str | None = None,
        headers: dict[str, str] | None = None,
        size: int | None = None,
        connections: int | None = None,
    ) -> str:
        """Start a download on the pod; its id. ``headers`` (e.g. a Civitai key) go to the
        link's host only, never to a host a redirect leads to."""
        body: dict[str, Any] = {"url": url, "folder": folder}
        options = {"filename": filename, "sha256": sha256, "size": size, "connections": connections}
        for key, value in options.items():
            if value:
                body[key] = value
        for value in (headers or {}).values():
            register_secret(value)
            register_secret(value.split(" ", 1)[-1])  # the key alone, as in "Bearer KEY"
        if headers:
            body["headers"] = headers
        answer = await self._request("POST", "/gateway/models/download", json=body)
        return Transfer.from_json(answer).id

    async def status(self, transfer_id: str) -> Transfer:
        return Transfer.from_json(
            await self._request("GET", f"/gateway/models/downloads/{transfer_id}")
        )

    async def downloads(self) -> list[Transfer]:
        answer = await self._request("GET", "/gateway/models/downloads")
        items = answer.get("downloads", []) if isinstance(answer, dict) else []
        return [Transfer.from_json(item) for item in items if isinstance(item, dict)]

    async def cancel(self, transfer_id: str) -> Transfer:
        return Transfer.from_json(
            await self._request("DELETE", f"/gateway/models/downloads/{transfer_id}")
        )

    async def wait(
        self, transfer_id: str, on_progress: Progress | None = None, poll: float = 1.0
    ) -> Transfer:
        """Follow a download until it ends; a failed one raises with the gateway's words."""
        while True:
            t = await self.status(transfer_id)
            if on_progress:
                on_progress(t.done, t.total or 0)
            if t.state == "failed":
                raise InvalidRequest(t.error or "The download failed on the pod.")
            if t.finished:
                return t
            await self.sleep(poll)

    # Uploads from this computer ----------------------------------------------------------

    async def upload(
        self,
        path: str | Path,
        folder: str,
        on_progress: Progress | None = None,
        chunk: int = CHUNK,
        filename: str | None = None,
    ) -> Transfer:
        """Send a file in chunks; after a dropped connection, go on where the pod says.

        Chunks start at ``chunk`` bytes and grow while they take under 2 s (fewer round trips
        on a fast link; a cut loses nothing: the pod keeps every byte that arrived). The
        checksum is computed while the first chunks go and sent with the last one."""
        path = Path(path)
        size = path.stat().st_size
        hashing = asyncio.ensure_future(asyncio.to_thread(_sha256, path))
        body = {"folder": folder, "filename": filename or path.name, "size": size}
        try:
            t = Transfer.from_json(
                await self._request("POST", "/gateway/models/uploads", json=body)
            )
            if size == 0:
                return t
            try:
                return await self._send(t.id, path, size, hashing, on_progress, chunk)
            except BaseException:  # cancelled, or given up: free the name on the pod again
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.cancel_upload(t.id))
                raise
        finally:
            hashing.cancel()

    async def _send(
        self,
        upload_id: str,
        path: Path,
        size: int,
        hashing: asyncio.Future[str],
        on_progress: Progress | None,
        chunk: int,
    ) -> Transfer:
        where = f"/gateway/models/uploads/{upload_id}"
        offset, failures = 0, 0
        with path.open("rb") as f:
            while offset < size:
                count = min(chunk, size - offset)
                params = {"offset": str(offset)}
                if offset + count == size:
                    params["sha256"] = await hashing
                began = asyncio.get_running_loop().time()
                try:
                    answer = await self._request(
                        "PUT", where, params=params,
                        data=_read(f, offset, count, on_progress, size),
                        headers={"Content-Length": str(count)}, retry=False,
                    )  # fmt: skip
                except (Conflict, TransientError) as e:
                    failures += 1
                    if failures > self.retries:
                        raise
                    log.info("upload %s: %s; asking where to go on", upload_id, e.message)
                    await self.sleep(min(0.5 * 2**failures, 10))
                    answer = await self._request("GET", where)
                else:
                    if asyncio.get_running_loop().time() - began < 2.0:
                        chunk = min(chunk * 2, MAX_CHUNK)
                t = Transfer.from_json(answer)
                if t.state == "failed":
                    raise InvalidRequest(t.error or "The upload failed on the pod.")
                if t.state == "cancelled":
                    raise InvalidRequest("The upload was cancelled on the pod.")
                failures = 0 if t.done > offset else failures
                offset = t.done
                if on_progress:
                    on_progress(offset, size)
        return t

    async def cancel_upload(self, transfer_id: str) -> Transfer:
        return Transfer.from_json(
            await self._request("DELETE", f"/gateway/models/uploads/{transfer_id}")
        )

    # HTTP ------------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, retry: bool = True, **kwargs: Any) -> Any:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        attempts = 3 if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                async with self.session.request(
                    method, self.base_url + path, headers=headers, **kwargs
                ) as response:
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
                    if response.status < 400:
                        return body
                    raise self._error(response.status, body)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                if attempt == attempts:
                    raise TransientError(
                        f"The connection to the pod's gateway at {self.base_url} broke off "
                        f"({type(e).__name__}). Check that the pod is running, then try again.",
                        details=repr(e),
                    ) from e
                await self.sleep(attempt)
        raise AssertionError("unreachable")

    def _error(self, status: int, body: Any) -> ProviderError:
        said = body.get("error", "") if isinstance(body, dict) else ""
        if status == 401:
            return AuthError(
                "The pod refused the access token. Use the token made for this pod (it is "
                "kept in your password store since the pod was created).",
                status=status,
            )
        kind: type[ProviderError] = {404: NotFound, 409: Conflict}.get(status, InvalidRequest)
        if status >= 500 and status != 507:
            kind = TransientError
        return kind(said or f"The pod's gateway answered {status}.", status=status)


async def is_gateway(base_url: str, *, verify_tls: bool = True, timeout: float = 10.0) -> bool:
    """Whether ``base_url`` is this plugin's pod gateway: ``GET /gateway/health`` (the one
    request it answers without a token) says ``{"status": "ok", "gateway": N}``. Any other
    answer, or none within ``timeout`` seconds, is False (a plain ComfyUI, another server)."""
    url = base_url.rstrip("/") + "/gateway/health"
    try:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(ssl=verify_tls),
        ) as session:
            async with session.get(url, allow_redirects=False) as response:
                if response.status != 200:
                    return False
                body = await response.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
        log.info("no gateway at %s: %s", base_url, type(e).__name__)
        return False
    return isinstance(body, dict) and body.get("status") == "ok" and "gateway" in body


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * 2**20):
            digest.update(block)
    return digest.hexdigest()


async def _read(
    f: Any, offset: int, count: int, on_progress: Progress | None, total: int
) -> AsyncIterator[bytes]:
    """The chunk ``offset..offset+count`` in pieces, telling the progress as they leave."""
    f.seek(offset)
    sent = 0
    while sent < count:
        piece = f.read(min(256 * 1024, count - sent))
        if not piece:
            break
        yield piece
        sent += len(piece)
        if on_progress:
            on_progress(offset + sent, total)
