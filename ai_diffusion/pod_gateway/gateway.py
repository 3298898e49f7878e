"""The ai_diffusion pod gateway: runs on a rented GPU pod in front of ComfyUI.

    AI_DIFFUSION_GATEWAY_TOKEN=... python gateway.py --comfy http://127.0.0.1:8188 \\
        --port 3000 --models /workspace/models

- Every request needs ``Authorization: Bearer <token>`` (the websocket may use ``?token=``);
  only ``GET /gateway/health`` answers without it. Refused requests never reach ComfyUI.
- Any other path is passed to ComfyUI: HTTP streamed both ways, ``/ws`` and ``/api/ws``
  bridged frame by frame.
- ``/gateway/models/downloads``: models fetched from a URL by the pod itself (several ranged
  connections, resumed after drops, size and sha256 checked).
- ``/gateway/models/uploads``: models sent from the painter's disk in resumable chunks.

One file, standard library and aiohttp only: the plugin packs this source into the pod's start
command. Never imports ai_diffusion. The token comes from the environment only, never argv.
"""

from __future__ import annotations

import argparse
import asyncio
import email.message
import errno
import hashlib
import hmac
import logging
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import aiohttp
from aiohttp import WSMsgType, web

VERSION = 1
TOKEN_ENV = "AI_DIFFUSION_GATEWAY_TOKEN"
WS_PATHS = ("/ws", "/api/ws")  # ComfyUI's websocket
FOLDERS = (
    "checkpoints", "loras", "vae", "controlnet", "upscale_models", "text_encoders",
    "diffusion_models", "embeddings", "model_patches",
)  # fmt: skip
# ComfyUI lists model folders by extension (folder_paths.filter_files_extensions), so a file
# being written under this suffix is never offered; it is renamed once complete and checked.
PART = ".gateway-part"
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "host", "authorization", "origin",
    "content-length",
}  # fmt: skip
RESPONSE_DROP = {"connection", "keep-alive", "transfer-encoding", "upgrade"}
CHUNK = 256 * 1024
MIN_PART = 1024 * 1024  # a ranged part is at least this big
RETRIES = 5  # tries per part without progress before a download fails
MAX_REDIRECTS = 10

log = logging.getLogger("gateway")


class Refused(Exception):
    """A request or transfer that cannot go on; ``message`` is meant for the painter."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def shown(url: str) -> str:
    """A URL for logs and messages: without its query (signed URLs carry keys there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


# Model files -------------------------------------------------------------------------------


def target_path(root: Path, folder: str, name: str) -> Path:
    """Where ``name`` goes in ``folder``; refuses names that would leave the folder."""
    if folder not in FOLDERS:
        raise Refused(400, f"'{folder}' is not a model folder. Use one of: {', '.join(FOLDERS)}.")
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or "\0" in name
        or name.startswith("/")
        or any(p in ("", ".", "..") or p.startswith(".") for p in parts)
        or name.endswith(PART)
    ):
        raise Refused(
            400,
            f"The file name '{name[:200]}' is not allowed: use a plain name such as "
            "my-model.safetensors (no '..', no leading '/' or '.', no backslashes).",
        )
    base = (root / folder).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise Refused(400, f"The file name '{name[:200]}' points outside the {folder} folder.")
    return path


def check_new(path: Path, folder: str, name: str, busy: set[Path]) -> None:
    if path.exists() or path in busy:
        raise Refused(
            409,
            f"{folder} already has a file named '{name}'. Delete it first or choose another name.",
        )


def check_space(directory: Path, needed: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise Refused(
            507,
            f"Not enough space on the pod's disk: the file needs {needed / 1e9:.2f} GB, "
            f"{free / 1e9:.2f} GB are free. Delete models or rent a pod with a bigger volume.",
        )


def part_path(path: Path, transfer_id: str) -> Path:
    return path.with_name(f".{path.name}.{transfer_id}{PART}")


def remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def disk_message(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "The pod's disk is full. Delete models or rent a pod with a bigger volume."
    return f"Could not write the file on the pod ({e.strerror or type(e).__name__})."


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def name_from(headers: Any, url: str) -> str:
    """The file name a server gives (Content-Disposition), else the URL path's last part."""
    value = headers.get("Content-Disposition")
    if value:
        message = email.message.Message()
        message["content-disposition"] = value
        found = message.get_filename()
        if found:
            return found
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


class Transfer:
    """A download or an upload: what the API reports about it."""

    def __init__(self, kind: str, folder: str, name: str, total: int | None) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.kind = kind
        self.folder = folder
        self.name = name
        self.state = "queued"
        self.done = 0
        self.total = total
        self.error = ""
        self.speed = 0.0
        self.path: Path | None = None
        self._mark = (time.monotonic(), 0)

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        then, before = self._mark
        if now - then >= 1.0:
            self.speed = (self.done - before) / (now - then)
            self._mark = (now, self.done)

    def fail(self, message: str) -> None:
        self.state, self.error, self.speed = "failed", message, 0.0
        log.warning("%s %s failed: %s", self.kind, self.id, message)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id, "kind": self.kind, "state": self.state, "folder": self.folder,
            "filename": self.name, "bytes_done": self.done, "bytes_total": self.total,
            "speed": round(self.speed), "error": self.error,
        }  # fmt: skip


# Downloads ---------------------------------------------------------------------------------


class Download(Transfer):
    def __init__(self, request: dict[str, Any]) -> None:
        super().__init__("download", request["folder"], request.get("filename") or "", None)
        self.url: str = request["url"]
        self.headers: dict[str, str] = dict(request.get("headers") or {})
        self.sha256 = (request.get("sha256") or "").lower()
        self.size: int | None = request.get("size")
        self.connections: int = request.get("connections", 8)
        self.task: asyncio.Task[None] | None = None


class Downloader:
    def __init__(self, gateway: Gateway, session: aiohttp.ClientSession) -> None:
        self.gateway = gateway
        self.session = session

    async def open(self, d: Download, start: int, end: int | None) -> aiohttp.ClientResponse:
        """GET ``d.url`` (from byte ``start``), following redirects here: headers passed for
        one host are dropped when a redirect leads to another."""
        url, headers = d.url, dict(d.headers)
        for _ in range(MAX_REDIRECTS + 1):
            sent = {**headers, "Accept-Encoding": "identity"}
            if start or end is not None:
                sent["Range"] = f"bytes={start}-{'' if end is None else end}"
            response = await self.session.get(url, headers=sent, allow_redirects=False)
            if response.status not in (301, 302, 303, 307, 308):
                if response.status >= 400:
                    response.release()
                    raise Refused(502, refusal(response.status, url))
                return response
            location = response.headers.get("Location", "")
            response.release()
            if not location:
                raise Refused(502, f"{shown(url)} redirected to nowhere.")
            target = urljoin(url, location)
            if urlsplit(target).scheme not in ("http", "https"):
                raise Refused(502, f"{shown(url)} redirected to an unsupported address.")
            before, after = urlsplit(url), urlsplit(target)
            if after.netloc.lower() != before.netloc.lower() or after.scheme != before.scheme:
                headers = {}  # a token for one site must not reach another, nor go unencrypted
            url = target
        raise Refused(502, f"{shown(d.url)} redirected too many times.")

    async def run(self, d: Download) -> None:
        part: Path | None = None
        try:
            d.state = "downloading"
            first = await self.open(d, 0, 0)  # one byte: ranges? size? name?
            try:
                ranged = first.status == 206
                total = _total(first, ranged)
                d.name = d.name or name_from(first.headers, d.url)
                if not d.name:
                    raise Refused(400, "The link does not tell the file's name: give one.")
                d.path = self.gateway.claim(d, d.folder, d.name)
                if d.size is not None and total is not None and d.size != total:
                    raise Refused(502, f"The server offers {total} bytes, {d.size} were expected.")
                d.total = total if total is not None else d.size
                check_space(d.path.parent, d.total or 0)
                part = part_path(d.path, d.id)
                log.info("download %s: %s -> %s/%s", d.id, shown(d.url), d.folder, d.name)
                with part.open("wb") as f:
                    if ranged and total:
                        first.release()
                        f.truncate(total)
                        await self.ranged(d, f.fileno(), total)
                    else:
                        await self.single(d, first, f.fileno())
            finally:
                first.release()
            await self.finish(d, part)
        except asyncio.CancelledError:
            d.state = "cancelled"
            raise
        except Refused as e:
            d.fail(e.message)
        except aiohttp.ClientConnectorError:
            d.fail(f"The pod could not reach {shown(d.url)}. Check the link.")
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            d.fail(f"The download from {shown(d.url)} broke off ({type(e).__name__}).")
        except OSError as e:  # after ClientError: some of those are OSErrors too
            d.fail(disk_message(e))
        finally:
            if part is not None and d.state != "done":
                remove(part)
            self.gateway.release(d)

    async def ranged(self, d: Download, fd: int, total: int) -> None:
        """Several connections, each fetching its own range (each follows the redirects
        again, so a signed link that expired meanwhile is renewed by the origin)."""
        count = max(1, min(d.connections, total // MIN_PART))
        size = -(-total // count)
        edges = [(i * size, min(total, (i + 1) * size) - 1) for i in range(count)]
        tasks = [asyncio.ensure_future(self.part(d, fd, a, b)) for a, b in edges]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def part(self, d: Download, fd: int, start: int, end: int) -> None:
        """Bytes ``start..end`` (inclusive); after a drop, again from where it stopped."""
        position, failures = start, 0
        while position <= end:
            before = position
            try:
                response = await self.open(d, position, end)
                async with response:
                    if response.status != 206:
                        raise Refused(502, f"{shown(d.url)} stopped sending parts of the file.")
                    async for data in response.content.iter_chunked(CHUNK):
                        data = data[: end + 1 - position]
                        os.pwrite(fd, data, position)
                        position += len(data)
                        d.advance(len(data))
                        if position > end:
                            break
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                failures = 0 if position > before else failures + 1
                if failures >= RETRIES:
                    raise
                log.info("download %s: part at %d dropped (%s); resuming", d.id, position,
                         type(e).__name__)  # fmt: skip
                await asyncio.sleep(min(0.5 * 2**failures, 10))
                continue
            if position <= end:  # the server ended early without an error
                failures += 1
                if failures >= RETRIES:
                    raise Refused(502, f"{shown(d.url)} kept ending the file early.")

    async def single(self, d: Download, response: aiohttp.ClientResponse, fd: int) -> None:
        """One stream: a server without ranges. After a drop it starts over."""
        failures = 0
        while True:
            try:
                async with response:
                    async for data in response.content.iter_chunked(CHUNK):
                        os.write(fd, data)
                        d.advance(len(data))
                if d.total is None or d.done >= d.total:
                    return
                raise aiohttp.ClientPayloadError("the server ended the file early")
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                failures += 1
                if failures >= RETRIES:
                    raise
                log.info("download %s: stream dropped (%s); starting over", d.id, type(e).__name__)
                await asyncio.sleep(min(0.5 * 2**failures, 10))
                os.lseek(fd, 0, os.SEEK_SET)
                os.ftruncate(fd, 0)
                d.done = 0
                response = await self.open(d, 0, None)

    async def finish(self, d: Download, part: Path) -> None:
        d.state = "verifying"
        size = part.stat().st_size
        expected = d.total if d.total is not None else d.size
        if expected is not None and size != expected:
            raise Refused(502, f"The file arrived with {size} bytes instead of {expected}.")
        if d.sha256:
            got = await asyncio.to_thread(sha256_of, part)
            if got != d.sha256:
                raise Refused(
                    502,
                    "The downloaded file is not the expected one (its SHA256 checksum differs); "
                    "it was deleted. Check the link, or leave the checksum out.",
                )
        self.gateway.place(part, d)


def refusal(status: int, url: str) -> str:
    if status in (401, 403):
        return (
            f"{shown(url)} refused the download ({status}): the model may need a login or an "
            "API key (e.g. a Civitai or Hugging Face token)."
        )
    if status == 404:
        return f"Nothing found at {shown(url)} (404). Check the link."
    return f"{shown(url)} answered {status} instead of the file."


def _total(response: aiohttp.ClientResponse, ranged: bool) -> int | None:
    if ranged:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = response.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


# Uploads -----------------------------------------------------------------------------------


class Upload(Transfer):
    def __init__(self, folder: str, name: str, size: int, sha256: str) -> None:
        super().__init__("upload", folder, name, size)
        self.sha256 = sha256.lower()
        self.digest = hashlib.sha256()
        self.part: Path | None = None
        self.lock = asyncio.Lock()

    def view(self) -> dict[str, Any]:
        return {**super().view(), "offset": self.done}


# The gateway -------------------------------------------------------------------------------


class Gateway:
    def __init__(self, comfy: str, token: str, models: Path) -> None:
        self.comfy = comfy.rstrip("/")
        self.token = token.encode()
        self.models = models
        self.transfers: dict[str, Transfer] = {}
        self.busy: set[Path] = set()
        self.session: aiohttp.ClientSession | None = None

    # Bookkeeping of the target files: one transfer per name at a time.
    def claim(self, t: Transfer, folder: str, name: str) -> Path:
        path = target_path(self.models, folder, name)
        check_new(path, folder, name, self.busy)
        self.busy.add(path)
        t.path = path
        return path

    def release(self, t: Transfer) -> None:
        if t.path is not None:
            self.busy.discard(t.path)

    def place(self, part: Path, t: Transfer) -> None:
        assert t.path is not None
        if t.path.exists():
            raise Refused(409, f"{t.folder} got a file named '{t.name}' meanwhile; not replaced.")
        os.replace(part, t.path)
        t.state, t.speed = "done", 0.0
        # Nothing else to do: ComfyUI rescans its model folders on the next /object_info.
        log.info("%s %s: %s/%s is in place", t.kind, t.id, t.folder, t.name)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.auth], client_max_size=1024**2)
        r = app.router
        r.add_get("/gateway/health", self.health)
        r.add_post("/gateway/models/download", self.start_download)
        r.add_get("/gateway/models/downloads", self.list_downloads)
        r.add_get("/gateway/models/downloads/{id}", self.get_transfer)
        r.add_delete("/gateway/models/downloads/{id}", self.cancel_download)
        r.add_post("/gateway/models/uploads", self.start_upload)
        r.add_get("/gateway/models/uploads/{id}", self.get_transfer)
        r.add_put("/gateway/models/uploads/{id}", self.put_chunk)
        r.add_delete("/gateway/models/uploads/{id}", self.cancel_upload)
        r.add_route("*", "/gateway/{tail:.*}", self.unknown)
        r.add_route("*", "/{tail:.*}", self.proxy)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
        connector = aiohttp.TCPConnector(limit=0)
        self.session = aiohttp.ClientSession(
            timeout=timeout,
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        self.sweep()

    async def _stop(self, app: web.Application) -> None:
        for t in self.transfers.values():
            if isinstance(t, Download) and t.task:
                t.task.cancel()
        if self.session:
            await self.session.close()

    def sweep(self) -> None:
        """Parts left by an earlier run (their transfers died with it)."""
        for folder in FOLDERS:
            for stale in (self.models / folder).rglob(f"*{PART}"):
                remove(stale)

    @web.middleware
    async def auth(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path == "/gateway/health" and request.method == "GET":
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" and _is_websocket(request) and request.path in WS_PATHS:
            value = request.query.get("token", "")  # only ComfyUI's stream, never passed on
        if not value or not hmac.compare_digest(value.strip().encode(), self.token):
            reason = "a different token" if value else "no token"
            return error(401, f"The pod refused access: the request carried {reason}.")
        try:
            return await handler(request)
        except Refused as e:
            return error(e.status, e.message)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "gateway": VERSION})

    async def unknown(self, request: web.Request) -> web.Response:
        return error(404, f"The gateway has no {request.method} {request.path}.")

    # Downloads
    async def start_download(self, request: web.Request) -> web.Response:
        body = await _json(request)
        url = body.get("url")
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
            raise Refused(400, "Give the model's address as an http:// or https:// link.")
        headers = body.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise Refused(400, "'headers' must map header names to text.")
        size, connections = body.get("size"), body.get("connections", 8)
        if size is not None and (not isinstance(size, int) or size < 0):
            raise Refused(400, "'size' must be the file's size in bytes.")
        if not isinstance(connections, int) or not 1 <= connections <= 16:
            raise Refused(400, "'connections' must be a number from 1 to 16.")
        sha256 = body.get("sha256") or ""
        if not isinstance(sha256, str) or (sha256 and len(sha256) != 64):
            raise Refused(400, "'sha256' must be the file's SHA256 checksum (64 hex digits).")
        folder = str(body.get("folder") or "")
        name = body.get("filename")
        if name is not None and not isinstance(name, str):
            raise Refused(400, "'filename' must be text.")
        if name:
            check_new(target_path(self.models, folder, name), folder, name, self.busy)
        else:
            target_path(self.models, folder, "probe")  # the folder is known
        if size:
            check_space(self.models / folder, size)
        d = Download(body)
        assert self.session is not None
        d.task = asyncio.ensure_future(Downloader(self, self.session).run(d))
        self.transfers[d.id] = d
        return web.json_response(d.view(), status=202)

    async def list_downloads(self, request: web.Request) -> web.Response:
        items = [t.view() for t in self.transfers.values() if isinstance(t, Download)]
        return web.json_response({"downloads": items})

    async def get_transfer(self, request: web.Request) -> web.Response:
        return web.json_response(self._find(request, Transfer).view())

    async def cancel_download(self, request: web.Request) -> web.Response:
        d = self._find(request, Download)
        if d.task and not d.task.done():
            d.task.cancel()
            await asyncio.gather(d.task, return_exceptions=True)
            if d.state not in ("done", "failed"):
                d.state = "cancelled"
        return web.json_response(d.view())

    def _find(self, request: web.Request, kind: type[Any]) -> Any:
        t = self.transfers.get(request.match_info["id"])
        wanted = "upload" if request.path.startswith("/gateway/models/uploads") else "download"
        if not isinstance(t, kind) or t.kind != wanted:
            raise Refused(404, f"The pod knows no {wanted} with this id (it may have restarted).")
        return t

    # Uploads
    async def start_upload(self, request: web.Request) -> web.Response:
        body = await _json(request)
        folder, name = str(body.get("folder") or ""), body.get("filename")
        size, sha256 = body.get("size"), body.get("sha256") or ""
        if not isinstance(name, str) or not name:
            raise Refused(400, "Give the file's name.")
        if not isinstance(size, int) or size < 0:
            raise Refused(400, "Give the file's size in bytes.")
        if not isinstance(sha256, str):
            raise Refused(400, "'sha256' must be text.")
        path = target_path(self.models, folder, name)
        check_new(path, folder, name, self.busy)
        check_space(path.parent, size)
        u = Upload(folder, name, size, sha256)
        self.claim(u, folder, name)
        u.part = part_path(path, u.id)
        u.part.touch()
        u.state = "uploading" if size else "verifying"
        self.transfers[u.id] = u
        if size == 0:
            self._complete(u)
        return web.json_response(u.view(), status=201)

    async def put_chunk(self, request: web.Request) -> web.Response:
        u: Upload = self._find(request, Upload)
        offset = request.query.get("offset", "")
        if u.state != "uploading":
            return error(409, f"This upload is {u.state}.", **u.view())
        if not offset.isdigit() or int(offset) != u.done:
            return error(409, f"The upload goes on at byte {u.done}.", **u.view())
        checksum = request.query.get("sha256", "").lower()
        if checksum and not u.sha256:
            u.sha256 = checksum  # may come with any chunk, e.g. the last one
        if u.lock.locked():
            return error(409, "Another part of this upload is being received.", **u.view())
        async with u.lock:
            assert u.part is not None and u.total is not None
            try:
                with u.part.open("r+b") as f:
                    f.seek(u.done)
                    async for data in request.content.iter_chunked(CHUNK):
                        if u.done + len(data) > u.total:
                            raise Refused(400, "The upload sent more bytes than the file has.")
                        try:
                            f.write(data)
                        except OSError as e:
                            raise Refused(507, disk_message(e)) from e
                        u.digest.update(data)
                        u.advance(len(data))
            except Refused as e:
                self._abort(u, e.message)
                return error(e.status, e.message, **u.view())
            except Exception as e:  # the connection broke off: what arrived is kept
                log.info("upload %s: chunk broke off at %d (%s)", u.id, u.done, type(e).__name__)
                return error(400, f"The chunk broke off; the upload goes on at byte {u.done}.",
                             **u.view())  # fmt: skip
            if u.done == u.total:
                self._complete(u)
                if u.state == "failed":
                    return error(422, u.error, **u.view())
        return web.json_response(u.view())

    def _complete(self, u: Upload) -> None:
        assert u.part is not None
        u.state = "verifying"
        if u.sha256 and u.digest.hexdigest() != u.sha256:
            self._abort(u, "The uploaded file differs from the one on your disk (its SHA256 "
                        "checksum does not match); it was deleted. Upload it again.")  # fmt: skip
            return
        try:
            self.place(u.part, u)
        except Refused as e:
            self._abort(u, e.message)
        self.release(u)

    def _abort(self, u: Upload, message: str, state: str = "failed") -> None:
        if u.part:
            remove(u.part)
        if state == "failed":
            u.fail(message)
        else:
            u.state = state
        self.release(u)

    async def cancel_upload(self, request: web.Request) -> web.Response:
        u: Upload = self._find(request, Upload)
        if u.state in ("queued", "uploading"):
            self._abort(u, "", state="cancelled")
        return web.json_response(u.view())

    # Pass-through to ComfyUI
    async def proxy(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        if _is_websocket(request) and request.path in WS_PATHS:
            return await self.bridge(request)
        headers = _forwarded(request.headers)
        data = request.content if request.body_exists else None
        if request.headers.get("Content-Length"):
            headers["Content-Length"] = request.headers["Content-Length"]
        try:
            upstream = await self.session.request(
                request.method, self.comfy + request.raw_path, headers=headers, data=data,
                allow_redirects=False,
            )  # fmt: skip
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return error(502, "ComfyUI on the pod does not answer yet; it may still be starting.")
        async with upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in RESPONSE_DROP:
                    response.headers.add(key, value)
            await response.prepare(request)
            async for block in upstream.content.iter_chunked(CHUNK):
                await response.write(block)
            await response.write_eof()
        return response

    async def bridge(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        query = urlencode([(k, v) for k, v in request.rel_url.query.items() if k != "token"])
        url = self.comfy + request.rel_url.raw_path + (f"?{query}" if query else "")
        try:
            upstream = await self.session.ws_connect(
                url, headers=_forwarded(request.headers, websocket=True), max_msg_size=0,
                autoping=True, heartbeat=None,
            )  # fmt: skip
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return error(502, "ComfyUI on the pod refused the live connection.")
        client = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await client.prepare(request)

        async def pump(src: Any, dst: Any) -> None:
            async for msg in src:
                if msg.type == WSMsgType.TEXT:
                    await dst.send_str(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await dst.send_bytes(msg.data)
                else:
                    break

        tasks = [asyncio.ensure_future(pump(client, upstream)),
                 asyncio.ensure_future(pump(upstream, client))]  # fmt: skip
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await upstream.close()
            await client.close()
        return client


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def _forwarded(headers: Any, websocket: bool = False) -> dict[str, str]:
    drop = HOP_BY_HOP | ({"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions",
                          "sec-websocket-accept"} if websocket else set())  # fmt: skip
    return {k: v for k, v in headers.items() if k.lower() not in drop}


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise Refused(400, "The request body must be a JSON object.")
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description="ai_diffusion pod gateway in front of ComfyUI")
    parser.add_argument("--comfy", default="http://127.0.0.1:8188", help="ComfyUI's address")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--models", default="/workspace/models", help="ComfyUI's models folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s gateway %(message)s")
    token = os.environ.get(TOKEN_ENV, "").strip()
    if len(token) < 16:
        raise SystemExit(f"Set {TOKEN_ENV} to the pod's access token (16 characters or more).")
    gateway = Gateway(args.comfy, token, Path(args.models))
    log.info("gateway %d on port %d in front of %s", VERSION, args.port, args.comfy)
    web.run_app(gateway.app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
