"""An Automatic1111 (1.10) or Forge WebUI as a backend, through its ``--api``
(https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API), following :mod:`.contract`.

The WebUI runs one generation at a time for everybody (a global lock) and answers a
generation's POST only when it is done. This client therefore sends its own jobs one after
another, and while one is out it polls ``/sdapi/v1/progress`` (about twice a second) for
steps and the live preview.

Whose job runs? The progress route does not say. A job counts as *ours* when it started
(a new ``state.job_timestamp``) after we sent ours to a WebUI that was idle; then previews
are shown and Cancel interrupts it, after checking once more that the timestamp running is
still ours. When the WebUI was busy with somebody else's job as ours was sent, the next job
to start may be anybody's: it is *uncertain*, no preview is shown, and Cancel never
interrupts it; the painter is told so, and our result is dropped when it arrives.
One race remains (docs/a1111.md): our job ends and somebody else's starts before our answer
arrives; the next poll then takes theirs for ours.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp

from ..comfy.config import ServerConfig
from ..comfy.errors import ConnectionFailure, FailureKind
from ..comfy.events import (
    Failed,
    Finished,
    Interrupted,
    JobEvent,
    Preview,
    Progress,
    Queued,
    Started,
)
from ..comfy.models import ServerModels
from ..errors import UserError
from ..request import GenerationRequest, Mode, png_size
from . import feather, png
from .a1111_catalog import Catalog
from .a1111_http import optional_json, request_json
from .a1111_job import Job, busy, decode_image, generation_info, soft_mask_of
from .a1111_payload import Payload, build_payload, upscale_body, upscaled_size
from .contract import UploadProgress
from .png_scale import Scaler, scale_png
from .tasks import stop_tasks

log = logging.getLogger(__name__)
GENERATION_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30)
# Failures of a generation's POST after which the WebUI may still be making the images.
LOST_ANSWER = (FailureKind.DROPPED, FailureKind.TIMEOUT, FailureKind.PROXY_UNAVAILABLE)


class WebUIClient:
    """Use :meth:`connect`; then :meth:`submit` requests and read :meth:`listen`."""

    poll_interval = 0.5

    def __init__(self, config: ServerConfig, session: aiohttp.ClientSession) -> None:
        self.scale: Scaler = scale_png  # results to the size asked for
        self.config = config
        self.session = session
        self.catalog = Catalog()
        self.models = ServerModels()
        self.events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._pending: deque[Job] = deque()
        self._running: Job | None = None
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    @property
    def server(self) -> str:
        """ "Forge (WebUI API)", "Automatic1111 1.10.1 (WebUI API)" once the version is known."""
        return self.catalog.describe()

    # Connecting ---------------------------------------------------------------------------

    @classmethod
    async def connect(cls, config: ServerConfig, scale: Scaler | None = None) -> WebUIClient:
        """Prove the address is an A1111/Forge API, read what it offers. ``scale`` brings
        results to the asked size (default: pure Python; the docker passes Qt's)."""
        config = config.normalized()
        session = aiohttp.ClientSession(
            headers=config.auth_headers(),
            timeout=aiohttp.ClientTimeout(
                total=config.request_timeout, sock_connect=config.connect_timeout
            ),
            connector=aiohttp.TCPConnector(ssl=config.ssl_context() or True),
        )
        client = cls(config, session)
        client.scale = scale or scale_png
        try:
            await client.refresh_models()
        except BaseException:
            await session.close()
            raise
        client._worker = asyncio.create_task(client._work())
        log.info("connected to %s (%s)", config.url, client.server)
        return client

    async def _get(self, path: str) -> Any:
        return await request_json(self.session, self.config, "GET", path)

    async def refresh_models(self) -> ServerModels:
        models = await self._get("/sdapi/v1/sd-models")
        if not isinstance(models, list):
            raise ConnectionFailure(
                FailureKind.NOT_COMFYUI,
                f"{self.config.url} answered, but not as an Automatic1111 or Forge WebUI. "
                "Check the address and port.",
            )
        samplers, schedulers, loras, upscalers, modules, vaes, memory = await asyncio.gather(
            self._get("/sdapi/v1/samplers"),
            optional_json(self.session, self.config, "/sdapi/v1/schedulers"),
            optional_json(self.session, self.config, "/sdapi/v1/loras"),
            optional_json(self.session, self.config, "/sdapi/v1/upscalers"),
            optional_json(self.session, self.config, "/sdapi/v1/sd-modules"),  # Forge only
            optional_json(self.session, self.config, "/sdapi/v1/sd-vae"),  # A1111 only
            optional_json(self.session, self.config, "/sdapi/v1/memory"),
        )
        cn_models = await optional_json(self.session, self.config, "/controlnet/model_list")
        cn_modules = None
        if isinstance(cn_models, dict):
            cn_modules = await optional_json(self.session, self.config, "/controlnet/module_list")
        self.catalog = Catalog.from_api(
            models, samplers, schedulers, loras, upscalers, modules, vaes, memory,
            cn_models, cn_modules, version=self.catalog.version,
        )  # fmt: skip
        self.models = self.catalog.server_models()
        return self.models

    async def close(self) -> None:
        await stop_tasks([self._worker] if self._worker is not None else [])
        await self.session.close()

    # Jobs ---------------------------------------------------------------------------------

    async def submit(
        self, request: GenerationRequest, on_upload: UploadProgress | None = None
    ) -> str:
        """Check ``request`` against the WebUI's lists and queue it here (the WebUI has no
        queue one could take a job out of again); returns the job id."""
        soft = None
        if request.mode is Mode.inpaint:
            assert request.mask is not None
            soft = await asyncio.get_running_loop().run_in_executor(
                None, soft_mask_of, request.mask.data
            )
        payload = build_payload(request, self.catalog, png.encode(soft) if soft else None)
        job = Job(f"webui-{next(self._ids)}", request, payload, soft.data if soft else None)
        position = len(self._pending) + (1 if self._running else 0)
        self._pending.append(job)
        self._emit(Queued(job.id, position))
        self._wake.set()
        if on_upload:  # the images travel inside the job's body, sent when it is its turn
            size = len(json.dumps(payload.body))
            on_upload(size, size)
        return job.id

    async def cancel(self, job_id: str) -> None:
        for job in list(self._pending):
            if job.id == job_id:
                self._pending.remove(job)
                self._emit(Interrupted(job_id))
                return
        running = self._running
        if running is None or running.id != job_id or running.cancelled:
            return
        job = running
        job.cancelled = True
        if job.phase == "waiting":
            # Look now rather than at the next poll: if it started on an idle WebUI, it is ours.
            job.interrupt_when_started = job.sent_idle
            await self._observe(job, await self._progress())
            if job.sent_idle:
                return  # interrupted now, or as soon as it is seen starting
        if job.phase == "ours" and await self._interrupt_if_ours(job):
            return
        raise UserError(
            "The WebUI runs one job at a time for everybody and cannot tell whose job is "
            "running now, so it was not stopped (it may be somebody else's). Your result will "
            "be dropped when it arrives; to stop it sooner, use the WebUI's own Interrupt."
        )

    async def _interrupt_if_ours(self, job: Job) -> bool:
        """Interrupt only while the run with our job's timestamp is still the running one."""
        state = (await self._progress()).get("state") or {}
        if not busy(state) or str(state.get("job_timestamp")) != job.timestamp:
            return False
        await request_json(self.session, self.config, "POST", "/sdapi/v1/interrupt", {})
        return True

    def _emit(self, event: JobEvent) -> None:
        self.events.put_nowait(event)

    async def listen(self) -> AsyncIterator[JobEvent]:
        while True:
            yield await self.events.get()

    # The worker: one job of ours at a time -----------------------------------------------------

    async def _work(self) -> None:
        while True:
            while not self._pending:
                self._wake.clear()
                await self._wake.wait()
            job = self._pending.popleft()
            self._running = job
            try:
                await self._run(job)
            except asyncio.CancelledError:
                raise
            except UserError as e:
                self._emit(Failed(job.id, e.message, details=e.details))
            except Exception as e:  # a job must always end with one event
                log.exception("WebUI job failed")
                self._emit(Failed(job.id, f"The job failed unexpectedly ({e}). Try again."))
            finally:
                self._running = None

    async def _progress(self) -> dict[str, Any]:
        try:
            answer = await request_json(
                self.session, self.config, "GET", "/sdapi/v1/progress?skip_current_image=false"
            )
        except UserError as e:
            log.info("progress unavailable: %s", e)
            return {}
        return answer if isinstance(answer, dict) else {}

    async def _run(self, job: Job) -> None:
        before = (await self._progress()).get("state") or {}
        job.sent_idle = not busy(before)
        job.before_timestamp = str(before.get("job_timestamp") or "")
        post = asyncio.create_task(self._post(job.payload))
        try:
            while not post.done():
                await asyncio.wait({post}, timeout=self.poll_interval)
                if not post.done():
                    try:
                        await self._observe(job, await self._progress())
                    except UserError as e:  # polling is a courtesy; the job goes on
                        log.info("progress of %s: %s", job.id, e)
            try:
                answer = await post
            except ConnectionFailure as e:
                if e.kind not in LOST_ANSWER:
                    raise
                raise UserError(
                    f"The answer from {self.config.url} was lost while it made your image. "
                    "The WebUI may still finish it and keeps a copy in its "
                    "outputs folder. Proxies such as RunPod's cut requests after about 100 "
                    "seconds: for long jobs, use fewer steps or a smaller batch, or connect to "
                    "the pod's TCP port.",
                    details=f"{e.message} {e.details}",
                ) from e
        finally:
            if not post.done():
                post.cancel()
        if job.phase == "waiting":
            self._emit(Started(job.id))
        if job.cancelled:
            self._emit(Interrupted(job.id))
            return
        images = await self._results(job, answer)
        self._emit(Finished(job.id, images))

    async def _post(self, payload: Payload) -> dict[str, Any]:
        answer = await request_json(
            self.session, self.config, "POST", payload.route, payload.body, GENERATION_TIMEOUT
        )
        return answer if isinstance(answer, dict) else {}

    async def _observe(self, job: Job, progress: dict[str, Any]) -> None:
        state = progress.get("state") or {}
        if not state or not busy(state):
            return
        timestamp = str(state.get("job_timestamp") or "")
        if job.phase == "waiting":
            if not job.sent_idle and timestamp == job.before_timestamp:
                return  # the job that ran before ours still runs
            job.phase = "ours" if job.sent_idle else "uncertain"
            job.timestamp = timestamp
            self._emit(Started(job.id))
            if job.interrupt_when_started:
                await self._interrupt_if_ours(job)
        if timestamp != job.timestamp:
            return
        steps = int(state.get("sampling_steps") or 0)
        if steps:
            step = min(steps, int(state.get("sampling_step") or 0))
            self._emit(Progress(job.id, step, steps))
        image = progress.get("current_image")
        if job.phase == "ours" and isinstance(image, str) and image != job.last_preview:
            job.last_preview = image
            with contextlib.suppress(binascii.Error, ValueError):
                data = base64.b64decode(image.split(",", 1)[-1])
                kind = "png" if data.startswith(png.SIGNATURE) else "jpeg"
                self._emit(Preview(job.id, data, kind))

    # Results ------------------------------------------------------------------------------

    async def _results(self, job: Job, answer: dict[str, Any]) -> list[bytes]:
        payload = job.payload
        if payload.route.endswith("extra-single-image"):
            return [decode_image(answer.get("image"))]
        info = generation_info(answer)
        version = str(info.get("version") or "")
        if version and not self.catalog.version:
            self.catalog = replace(self.catalog, version=version)
            self.models.device = self.catalog.server_models().device
        used = str(info.get("sd_model_name") or "")
        if payload.checkpoint_stem and used and used != payload.checkpoint_stem:
            raise UserError(
                f"The WebUI generated with '{used}' instead of '{job.request.checkpoint}' "
                "(it ignores a model it cannot load). Refresh the model list, check the model "
                "loads in the WebUI itself, then generate again."
            )
        listed = answer.get("images") or []
        first = int(info.get("index_of_first_image") or 0)
        chosen = listed[first : first + payload.batch_size]  # no grid, no detected maps
        if len(chosen) < payload.batch_size:
            raise UserError(
                f"The WebUI sent {len(chosen)} image(s) for a batch of {payload.batch_size}. "
                "Generate again; if it repeats, report it with the log file."
            )
        # The WebUI samples at the working size; the result goes back to the size asked for
        # (the canvas, or the selection's crop), as every backend's does, before an upscale.
        target = job.request.image.extent if job.request.image is not None else job.request.extent
        loop = asyncio.get_running_loop()
        images = [
            await loop.run_in_executor(
                None, self.scale, decode_image(i), target.width, target.height
            )
            for i in chosen
        ]
        if job.request.upscale is not None:
            images = [await self._upscale(job.request, image) for image in images]
        if job.soft_mask is not None and job.request.image is not None:
            w, h = job.request.image.width, job.request.image.height
            loop = asyncio.get_running_loop()
            images = [
                await loop.run_in_executor(None, feather.with_alpha, image, job.soft_mask, w, h)
                for image in images
            ]
        return images

    async def _upscale(self, request: GenerationRequest, image: bytes) -> bytes:
        assert request.upscale is not None
        upscaler = self.catalog.upscaler(request.upscale.model)
        size = upscaled_size(request.upscale, png_size(image), upscaler)
        body = upscale_body(image, upscaler, size.width, size.height)
        answer = await request_json(
            self.session,
            self.config,
            "POST",
            "/sdapi/v1/extra-single-image",
            body,
            GENERATION_TIMEOUT,
        )
        return decode_image(answer.get("image") if isinstance(answer, dict) else None)
