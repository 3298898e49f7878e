"""The ComfyUI client: one connection to one server, shared by the docker and the CLI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from ..request import GenerationRequest
from ..workflow.builder import Workflow, build_workflow
from . import answers
from .config import ServerConfig
from .errors import ConnectionFailure, FailureKind
from .events import ConnectionState, Failed, Interrupted, JobEvent, Queued
from .http import get_json, network_failure, system_stats
from .jobs import JobTracker
from .messages import parse_binary, parse_text
from .models import ServerModels
from .rejection import rejection
from .server_api import ServerApi
from .traffic import Traffic
from .uploads import Uploads

log = logging.getLogger(__name__)
UploadProgress = Callable[[int, int], None]  # (bytes sent, bytes total)
CHUNK = 256 * 1024


class ComfyClient:
    """Use :meth:`connect`; then :meth:`enqueue` jobs and read events from :meth:`listen`."""

    def __init__(self, config: ServerConfig, session: aiohttp.ClientSession) -> None:
        self.config = config
        self.session = session
        self.client_id = uuid.uuid4().hex
        self.models = ServerModels()
        self.api = ServerApi()  # which routes the server has (from its version)
        self.events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self.jobs = JobTracker(self._emit, self._fetch_image, self._history)
        self.reconnect_delays = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
        self.traffic = Traffic()  # bytes sent and received, for diagnostics and benchmarks
        self.uploads = Uploads(self.client_id)  # what the server has, under which names
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        # Jobs are also followed by polling: ComfyUI keeps one socket per client id, and the
        # cleanup of a connection it noticed dropping late can unregister the socket that
        # replaced it, which then stays open and hears nothing (see tests/fakes/comfy_sockets.py).
        self.quiet_poll = 10.0  # seconds without a message, while jobs are open, before polling
        self._heard = 0.0  # loop time of the last websocket frame
        # Detached jobs (``Workflow.detached``: large tiled graphs) are queued under a client id
        # that no socket uses, so the server's per-node messages for them go nowhere; they are
        # followed by asking the server every ``detached_poll`` seconds.
        self.detached_client_id = uuid.uuid4().hex
        self.detached_poll = 2.0
        self._detached: dict[str, str] = {}  # job id → what the painter is told while it runs
        self._polled = 0.0  # loop time of the last poll
        self._watch: asyncio.Task[None] | None = None
        # Ids of jobs posted whose answer has not been handled yet: a cancel (Ctrl-C) right
        # after the server took a job must still find it (see cancel_all).
        self._submitting: set[str] = set()

    # Connecting -------------------------------------------------------------------------------

    @classmethod
    async def connect(cls, config: ServerConfig, *, discover: bool = True) -> ComfyClient:
        """Connect, prove the server is ComfyUI, discover its models, open the event stream."""
        config = config.normalized()
        timeout = aiohttp.ClientTimeout(
            total=config.request_timeout, sock_connect=config.connect_timeout
        )
        connector = aiohttp.TCPConnector(ssl=config.ssl_context() or True)
        traffic = Traffic()
        session = aiohttp.ClientSession(
            headers=config.auth_headers(),
            timeout=timeout,
            connector=connector,
            trace_configs=[traffic.trace_config()],
        )
        client = cls(config, session)
        client.traffic = traffic
        try:
            stats = await system_stats(session, config)
            client.api = ServerApi.from_system_stats(stats)
            client.models.device = ServerModels.parse({}, [], stats).device
            if discover:
                await client.refresh_models(stats)
            client._ws = await client._open_websocket()
        except BaseException:
            await session.close()
            raise
        client._start_reader()
        log.info("connected to %s (%s)", config.url, client.models.device.name)
        return client

    async def refresh_models(self, stats: dict[str, Any] | None = None) -> ServerModels:
        stats = stats or await system_stats(self.session, self.config)
        info_body, embeddings_body = await asyncio.gather(
            get_json(self.session, self.config, "/object_info"),
            get_json(self.session, self.config, "/embeddings"),
        )
        object_info = answers.object_info(info_body, self.config.url)
        embeddings = answers.embeddings(embeddings_body, self.config.url)
        self.models = ServerModels.parse(object_info, embeddings, stats)
        return self.models

    async def _open_websocket(self) -> ClientConnection:
        url = self.config.websocket_url(self.client_id)
        try:
            ws = await ws_connect(
                url,
                additional_headers=self.config.auth_headers(),
                ssl=self.config.ssl_context(),
                open_timeout=self.config.connect_timeout,
                max_size=64 * 2**20,
                ping_interval=20,
                ping_timeout=60,
            )
        except websockets.InvalidStatus as e:
            raise ConnectionFailure(
                FailureKind.WEBSOCKET_REFUSED,
                f"{self.config.url} answers web requests but refused the live connection "
                f"({e.response.status_code}) that brings progress and results. A proxy in front of "
                "ComfyUI may block websockets; check its settings (or the pod's exposed port).",
                details=repr(e),
            ) from e
        except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as e:
            failure = network_failure(self.config, e)
            if failure.kind is FailureKind.HTTP_ERROR:
                failure = ConnectionFailure(
                    FailureKind.WEBSOCKET_REFUSED,
                    f"The live connection to {self.config.url} failed: {e}.",
                    details=repr(e),
                )
            raise failure from e
        # Ask for previews that name their job (event 4).
        try:
            await ws.send(
                json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
            )
        except websockets.ConnectionClosed as e:  # the server went away again at once
            raise ConnectionFailure(
                FailureKind.WEBSOCKET_REFUSED,
                f"The live connection to {self.config.url} closed as soon as it opened.",
                details=repr(e),
            ) from e
        return ws

    async def close(self) -> None:
        self._closed = True
        self.uploads.cancel()
        if self._watch is not None:
            self._watch.cancel()
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        await self.session.close()

    # Jobs ---------------------------------------------------------------------------------

    async def submit(
        self, request: GenerationRequest, on_upload: UploadProgress | None = None
    ) -> str:
        """The backend contract (``ai_diffusion.backends``): build the ComfyUI graph for
        ``request`` against this server's nodes and queue it."""
        workflow = build_workflow(request, self.models.object_info, self.models.version)
        return await self.enqueue(workflow, on_upload)

    async def enqueue(self, workflow: Workflow, on_upload: UploadProgress | None = None) -> str:
        """Upload the workflow's inputs and queue it; returns the job id (ComfyUI prompt_id)."""
        graph = await self._upload_inputs(workflow, on_upload)
        prompt_id = str(uuid.uuid4())  # chosen here (ComfyUI takes it) so a cancel knows it
        body = {
            "prompt": graph,
            "client_id": self.detached_client_id if workflow.detached else self.client_id,
            "prompt_id": prompt_id,
            # A tiled upscale's step previews would show single tiles: none are sent for it.
            "extra_data": {
                "preview_method": "none" if workflow.parts else self.config.preview_method
            },
        }
        self._submitting.add(prompt_id)
        try:
            return await self._post_prompt(body, workflow)
        except asyncio.CancelledError:
            raise  # the server may hold the job: cancel_all() still knows its id
        except BaseException:
            self._submitting.discard(prompt_id)
            raise

    async def _post_prompt(self, body: dict[str, Any], workflow: Workflow) -> str:
        try:
            async with self.session.post(self.config.endpoint("/prompt"), json=body) as response:
                text = await response.text(errors="replace")
                if response.status != 200:
                    raise rejection(text, response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise network_failure(self.config, e) from e
        job_id, number = answers.prompt_answer(_json(text), self.config.url)
        self._submitting.add(job_id)  # an older server may choose its own id
        if workflow.detached:
            self._detached[job_id] = (
                f"Refining {len(workflow.parts)} tiles on the server; the picture comes when "
                "all are done (the server's step-by-step progress for a job this large would "
                "be more data than the picture)."
            )
        position = await self._queue_position(job_id)
        self._emit(Queued(job_id, position))
        await self.jobs.add(job_id, workflow.output_node, number, workflow.streamed, workflow.parts)
        self._submitting.discard(job_id)
        self._submitting.discard(body["prompt_id"])
        self._watch_jobs()
        return job_id

    async def prepare(self, request: GenerationRequest) -> None:
        """Send ``request``'s input images ahead of time (live painting does this while the
        painter pauses), so that submitting it later only posts the job."""
        workflow = build_workflow(request, self.models.object_info, self.models.version)
        await self._upload_inputs(workflow, None)

    async def _upload_inputs(self, workflow: Workflow, on_upload: UploadProgress | None) -> dict:
        total = sum(len(d) for d in workflow.inputs.values())
        sent = 0
        renames: dict[str, str] = {}
        for name, data in workflow.inputs.items():

            def send(target: str, data: bytes, offset: int = sent) -> Awaitable[str]:
                return self._upload(target, data, offset, total, on_upload)

            stored = await self.uploads.stored_as(name, data, send, rotating=workflow.streamed)
            sent += len(data)
            if on_upload:
                on_upload(sent, total)
            if stored != name:
                renames[name] = stored
        graph = workflow.graph
        if renames:
            graph = json.loads(json.dumps(graph))
            for node in graph.values():
                image = node["inputs"].get("image")
                if isinstance(image, str) and image in renames:
                    node["inputs"]["image"] = renames[image]
        return graph

    async def _upload(
        self, name: str, data: bytes, offset: int, total: int, on_upload: UploadProgress | None
    ) -> str:
        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), CHUNK):
                yield data[start : start + CHUNK]
                if on_upload:
                    on_upload(offset + min(start + CHUNK, len(data)), total)

        form = aiohttp.FormData()
        payload: Any = chunks() if len(data) > 4 * CHUNK else data
        form.add_field("image", payload, filename=name, content_type="image/png")
        form.add_field("type", "input")
        form.add_field("overwrite", "true")
        url = self.config.endpoint("/upload/image")
        try:
            async with self.session.post(url, data=form) as response:
                text = await response.text(errors="replace")
                if response.status == 413:
                    raise ConnectionFailure(
                        FailureKind.HTTP_ERROR,
                        "The image is too large for the server (or the proxy in front of it). "
                        "Use a smaller selection or canvas.",
                    )
                if response.status != 200:
                    raise rejection(text, response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise network_failure(self.config, e) from e
        return answers.upload_answer(_json(text), self.config.url)

    async def _queue(self) -> answers.Queue:
        return answers.queue(await get_json(self.session, self.config, "/queue"))

    async def _queue_position(self, job_id: str) -> int:
        """Jobs ahead of ``job_id`` (0 when it already runs or the queue is unknown)."""
        try:
            queue = await self._queue()
        except ConnectionFailure:
            return 0
        return queue.position(job_id)

    async def cancel(self, job_id: str) -> None:
        """Stop this client's job: interrupt it if it runs, remove it if it waits. Never
        touches other people's jobs on a shared server."""
        if self.api.cancel and await self._cancel_by_id(job_id):
            return
        removed = False
        for _ in range(2):  # a second look, in case it started while being removed
            queue = await self._queue()
            if job_id in queue.running:
                await self._post("/interrupt", {"prompt_id": job_id})
                return  # its end arrives as an execution_interrupted event
            if job_id not in queue.pending:
                break
            await self._post("/queue", {"delete": [job_id]})
            removed = True
        if removed and self.jobs.end(job_id):
            self._emit(Interrupted(job_id))

    async def _cancel_by_id(self, job_id: str) -> bool:
        """``POST /api/jobs/{id}/cancel`` (ComfyUI 0.26+): the server stops exactly this job,
        running or waiting, with no race between looking and acting. False when the route is
        missing after all (the old way is used from then on)."""
        status, body = await self._call("POST", f"/api/jobs/{job_id}/cancel")
        if status in (404, 405):
            self.api = self.api.without("cancel")
            return False
        if status != 200:  # a proxy's error page, a server in trouble: the old way, this time
            log.warning("cancel of %s: the jobs API answered %d", job_id, status)
            return False
        # A running job ends with execution_interrupted; a waiting one was only dequeued and
        # sends nothing, so its end is reported here (the job is gone from the server).
        if answers.cancel_answer(body) and not await self._job_known(job_id):
            if self.jobs.end(job_id):
                self._emit(Interrupted(job_id))
        return True

    async def _job_known(self, job_id: str) -> bool:
        status, _ = await self._call("GET", f"/api/jobs/{job_id}")
        return status == 200

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A request whose status the caller reads; the body as JSON (None if it is not)."""
        try:
            async with self.session.request(
                method, self.config.endpoint(path), json=body
            ) as response:
                return response.status, _json(await response.text(errors="replace"))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise network_failure(self.config, e) from e

    async def cancel_all(self) -> None:
        """Cancel every job of this client, also one whose queueing was itself cancelled."""
        for job_id in [*self.jobs.outstanding(), *sorted(self._submitting)]:
            await self.cancel(job_id)
            self._submitting.discard(job_id)

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        try:
            async with self.session.post(self.config.endpoint(path), json=body) as response:
                await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise network_failure(self.config, e) from e

    async def _history(self, job_id: str) -> dict[str, Any] | None:
        """The job's history entry, or None while the server has none."""
        history = await get_json(self.session, self.config, f"/history/{job_id}")
        return answers.history_entry(history, job_id)

    async def _fetch_image(self, ref: dict[str, Any]) -> bytes:
        params = {
            "filename": str(ref.get("filename", "")),
            "subfolder": str(ref.get("subfolder", "")),
            "type": str(ref.get("type", "output")),
        }
        async with self.session.get(self.config.endpoint("/view"), params=params) as response:
            if response.status != 200:
                raise ConnectionFailure(
                    FailureKind.HTTP_ERROR,
                    f"A finished image could not be downloaded ({response.status}).",
                )
            return await response.read()

    # Events -------------------------------------------------------------------------------

    def _emit(self, event: JobEvent) -> None:
        self.events.put_nowait(event)

    async def listen(self) -> AsyncIterator[JobEvent]:
        """Every event of this client's jobs, and connection changes, in order. Meant for one
        consumer: two loops reading at once would each get part of the events."""
        while True:
            yield await self.events.get()

    def _start_reader(self, *, reconnect_first: bool = False) -> None:
        self._reader = asyncio.create_task(self._read_loop(reconnect_first=reconnect_first))
        self._reader.add_done_callback(self._reader_ended)

    def _reader_ended(self, task: asyncio.Task[None]) -> None:
        """The reader only ends when the client is closed or gives up reconnecting. Any other
        end (a bug, an error asyncio raised into it) is reported and the reader restarted, so
        no job is left waiting for events nobody reads."""
        if self._closed or task is not self._reader:
            return
        error = None if task.cancelled() else task.exception()
        log.error("websocket reader stopped unexpectedly; restarting it", exc_info=error)
        self._emit(
            ConnectionState(
                "reconnecting", "The live connection stopped unexpectedly; restarting it…"
            )
        )
        self._start_reader(reconnect_first=True)

    async def _read_loop(self, *, reconnect_first: bool = False) -> None:
        if reconnect_first:  # a fresh socket: the old one may hold a half-read stream
            stale, self._ws = self._ws, None
            if stale is not None:
                with contextlib.suppress(Exception):
                    await stale.close()
            if not await self._reconnect(first_delay=0.0):
                return
        while not self._closed:
            ws = self._ws
            if ws is not None:
                try:
                    async for frame in ws:
                        try:
                            await self._handle_frame(frame)
                        except Exception:  # a bad frame must never stop the stream
                            log.exception("could not handle a websocket frame")
                except websockets.ConnectionClosed:
                    pass
                except Exception:
                    log.exception("websocket reader error")
                    with contextlib.suppress(Exception):
                        await ws.close()
            if self._closed:
                return
            self._ws = None
            if not await self._reconnect():
                return

    async def _handle_frame(self, frame: str | bytes) -> None:
        self._heard = asyncio.get_running_loop().time()
        self.traffic.received += len(frame)
        if isinstance(frame, bytes):
            preview = parse_binary(frame)
            if preview is not None:
                self.jobs.on_preview(preview)
            return
        message = parse_text(frame)
        if message is not None:
            await self.jobs.on_message(message)

    async def _reconnect(self, first_delay: float | None = None) -> bool:
        """Reconnect with bounded exponential backoff, then settle every outstanding job.

        After the quick attempts fail, "disconnected" is reported once and the client keeps
        trying at the longest interval until it is closed: jobs on the server are kept, and
        their results arrive when it answers again."""
        attempt = 0
        while not self._closed:
            delay = self.reconnect_delays[min(attempt, len(self.reconnect_delays) - 1)]
            if attempt == 0 and first_delay is not None:
                delay = first_delay
            attempt += 1
            if attempt <= len(self.reconnect_delays):
                message = (
                    f"Connection lost, reconnecting (attempt {attempt} of "
                    f"{len(self.reconnect_delays)})…"
                )
                self._emit(ConnectionState("reconnecting", message))
            await asyncio.sleep(delay)
            try:
                self._ws = await self._open_websocket()
            except (ConnectionFailure, OSError) as e:
                log.info("reconnect attempt %d failed: %s", attempt, e)
                if attempt == len(self.reconnect_delays):
                    self._emit(
                        ConnectionState(
                            "disconnected",
                            f"The connection to {self.config.url} is lost. Still trying every "
                            f"{delay:g} s; jobs already on the server are kept and their results "
                            "arrive when it answers again.",
                        )
                    )
                continue
            self._emit(ConnectionState("connected", "Reconnected."))
            await self.reconcile()
            return True
        return False

    def _watch_jobs(self) -> None:
        if self._watch is None or self._watch.done():
            self._heard = asyncio.get_running_loop().time()
            self._watch = asyncio.create_task(self._poll_while_quiet())

    async def _poll_while_quiet(self) -> None:
        """While jobs are open: whenever no websocket message came for ``quiet_poll`` seconds,
        settle them from ``/queue`` and ``/history`` (exactly once, like after a reconnect), so
        no job waits for events that will never come."""
        loop = asyncio.get_running_loop()
        while not self._closed and (outstanding := self.jobs.outstanding()):
            now = loop.time()
            wait = self.quiet_poll - (now - self._heard)
            if any(job in self._detached for job in outstanding):
                wait = min(wait, self.detached_poll - (now - self._polled))
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if now - self._heard >= self.quiet_poll:
                log.info(
                    "no message for %.0f s: asking the server about open jobs", now - self._heard
                )
                self._heard = now
            self._polled = now
            try:
                await self.reconcile()
            except Exception:  # polling must never end the client; the next round retries
                log.exception("polling the server for open jobs failed")
        self._detached = {j: m for j, m in self._detached.items() if j in self.jobs.jobs}

    async def reconcile(self) -> None:
        """Settle jobs whose messages may have been missed while disconnected: finished ones
        deliver their images (once), vanished ones fail with a clear message."""
        if self.api.jobs:
            await self._reconcile_by_id()
            return
        try:
            queue = await self._queue()
        except ConnectionFailure as e:
            log.warning("reconcile: queue unavailable: %s", e)
            return
        for job_id in self.jobs.outstanding():
            try:
                entry = await self._history(job_id)
            except ConnectionFailure as e:
                log.warning("reconcile: history unavailable: %s", e)
                return
            if entry:
                await self.jobs.settle_from_history(job_id, entry)
            elif job_id not in queue:
                await self._lost(job_id)
            elif job_id in queue.running and job_id in self._detached:
                self.jobs.started(job_id, self._detached[job_id])

    async def _reconcile_by_id(self) -> None:
        """The same through ``GET /api/jobs/{id}`` (ComfyUI 0.6+): one answer per job says
        whether it waits, runs or ended, and holds its outputs once it ended."""
        for job_id in self.jobs.outstanding():
            try:
                status, body = await self._call("GET", f"/api/jobs/{job_id}")
                if status == 404 and not (isinstance(body, dict) and "error" in body):
                    self.api = self.api.without("jobs")  # no such route after all
                    await self.reconcile()
                    return
                if status == 404:
                    await self._lost(job_id)
                    continue
                if status != 200:
                    log.warning(
                        "reconcile: job %s unavailable: the server answered %d", job_id, status
                    )
                    return  # the next reconnect or poll asks again
                state = answers.job_state(body, self.config.url)
            except ConnectionFailure as e:
                log.warning("reconcile: job %s unavailable: %s", job_id, e)
                return
            if state.entry is not None:
                await self.jobs.settle_from_history(job_id, state.entry)
            elif state.status == "in_progress" and job_id in self._detached:
                self.jobs.started(job_id, self._detached[job_id])

    async def _lost(self, job_id: str) -> None:
        if await self.jobs.download_known_results(job_id):
            return
        if self.jobs.end(job_id):
            self._emit(
                Failed(
                    job_id, "The server lost this job (it was probably restarted). Generate again."
                )
            )


def _json(text: str) -> Any:
    """A JSON body, or None when it is not JSON (the answers module then names the problem)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
