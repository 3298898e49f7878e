"""RunPod Serverless with the official ComfyUI worker (runpod-workers/worker-comfyui).

A job is one ``POST /run`` carrying the graph and its input images (base64, named as the
graph's ``LoadImage`` nodes name them); ``/status/{id}`` is polled with a growing pause until
the job ends; results come back as base64 PNGs (or storage URLs when the worker uploads to a
bucket). The worker sends no progress and no previews: the events are Queued (with a cold-start
note when no worker is up) and Started (with the time spent waiting for a worker), then the end.

Facts from RunPod's documentation (https://docs.runpod.io/serverless/endpoints/operations) and
the worker's README (https://github.com/runpod-workers/worker-comfyui); nothing here was run
against the live service.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..comfy.errors import ConnectionFailure, FailureKind
from ..comfy.events import ConnectionState, Failed, Finished, Interrupted, JobEvent, Queued, Started
from ..comfy.models import DeviceInfo, ServerModels
from ..logs import register_secret
from ..workflow.builder import Workflow
from .contract import UploadProgress
from .errors import RequestTooLarge
from .graph_jobs import GraphJobApi
from .http import Answer, JsonHttp, Sleep
from .tasks import stop_tasks
from .worker_images import models_source, worker_image

log = logging.getLogger(__name__)
JOB_API = "https://api.runpod.ai/v2"
RUN_LIMIT = 10_000_000  # POST /run body (documented as 10 MB; taken as 10^7 bytes to be safe)
RUNSYNC_LIMIT = 20_000_000  # POST /runsync body
SERVICE = "RunPod Serverless"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
DISCOVERY = "ai-diffusion-lists-your-models.safetensors"  # a name no worker has
_ENDPOINT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")


def endpoint_id_from(text: str) -> str:
    """The endpoint id from what a painter pastes: the id itself, or any job URL such as
    ``https://api.runpod.ai/v2/abc123/run``."""
    value = text.strip().strip("/")
    match = re.search(r"/v2/([^/?#]+)", value)
    if match:
        value = match.group(1)
    if not _ENDPOINT_ID.match(value):
        raise ConnectionFailure(
            FailureKind.INVALID_URL,
            f"'{text.strip()}' is not a RunPod Serverless endpoint id. Copy the id shown on the "
            "endpoint's page in the RunPod console (for example 4m7x2k9q1abcde).",
        )
    return value


@dataclass(frozen=True)
class RunPodServerlessConfig:
    endpoint_id: str
    api_key: str = field(default="", repr=False)
    api_base: str = JOB_API  # AI_DIFFUSION_RUNPOD_SERVERLESS_API replaces it (tests, proxies)
    image: str = ""  # the worker image, for the model list (e.g. runpod/worker-comfyui:5.8.5-sdxl)
    models: tuple[str, ...] = ()  # the painter's own checkpoint list (custom image, volume)
    price_per_second: float = 0.0  # for the cost shown per job and session; 0 = unknown
    poll_delays: tuple[float, ...] = (0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 5.0)
    request_timeout: float = 60.0

    kind = "runpod-serverless"

    @property
    def url(self) -> str:
        return f"{self.api_base.rstrip('/')}/{self.endpoint_id}"

    @property
    def name(self) -> str:
        return f"RunPod Serverless {self.endpoint_id}"


@dataclass(frozen=True)
class Health:
    idle: int = 0
    running: int = 0
    in_queue: int = 0
    in_progress: int = 0

    @property
    def cold(self) -> bool:
        """No worker is up: the next job waits for one to start."""
        return self.idle + self.running == 0

    @classmethod
    def parse(cls, body: Any) -> Health:
        body = body if isinstance(body, dict) else {}
        jobs = body.get("jobs") if isinstance(body.get("jobs"), dict) else {}
        workers = body.get("workers") if isinstance(body.get("workers"), dict) else {}
        return cls(
            idle=int(workers.get("idle") or 0),
            running=int(workers.get("running") or 0),
            in_queue=int(jobs.get("inQueue") or 0),
            in_progress=int(jobs.get("inProgress") or 0),
        )


@dataclass
class JobStats:
    delay_ms: int = 0  # waiting for a worker (cold start included)
    execution_ms: int = 0  # billed time on the worker


class RunPodServerless(GraphJobApi):
    """One serverless endpoint, behind the backend contract (:mod:`.contract`)."""

    def __init__(self, config: RunPodServerlessConfig, http: JsonHttp) -> None:
        self.config = config
        self.http = http
        self.models = ServerModels(device=DeviceInfo(name=config.name, type="serverless"))
        self.models_from = ""
        self.events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self.stats: dict[str, JobStats] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._ended: set[str] = set()
        self._online = True
        # Seconds a new job waits for a worker, from the last job (a cold start assumed first);
        # the pool of several backends weighs it against the others' queues.
        self.start_delay_estimate = 30.0

    @classmethod
    async def connect(
        cls, config: RunPodServerlessConfig, *, sleep: Sleep = asyncio.sleep
    ) -> RunPodServerless:
        """Check the key and the endpoint with ``/health``; read the model list."""
        if not config.api_key:
            raise ConnectionFailure(
                FailureKind.AUTH,
                "RunPod Serverless needs your RunPod API key. Enter it in the connection "
                "settings (RunPod console → Settings → API Keys).",
            )
        register_secret(config.api_key)
        config = replace(config, endpoint_id=endpoint_id_from(config.endpoint_id))
        http = JsonHttp(
            SERVICE,
            {"Authorization": f"Bearer {config.api_key}", "Accept": "application/json"},
            sleep=sleep,
            timeout=config.request_timeout,
        )
        backend = cls(config, http)
        try:
            await backend.health()
            backend._known_models()
        except BaseException:
            await http.close()
            raise
        return backend

    async def health(self) -> Health:
        return Health.parse(self._checked(await self.http.request("GET", self._url("/health"))))

    def _known_models(self) -> bool:
        """Models from the painter's list or the official image's table; False if neither."""
        models, self.models_from = models_source(self.config.image, self.config.models)
        models.device = self.models.device
        self.models = models
        return bool(self.config.models) or bool(worker_image(self.config.image or "-"))

    async def refresh_models(self) -> ServerModels:
        """The painter asked: what the settings or the image table say, else a discovery job
        (a few billed seconds, a cold start included)."""
        if not self._known_models():
            await self.discover_models()
        return self.models

    async def close(self) -> None:
        await stop_tasks(self._followers.values())
        await self.http.close()

    # Jobs ---------------------------------------------------------------------------------

    def job_body(self, workflow: Workflow) -> bytes:
        """The request exactly as sent, so its size is what the limits apply to."""
        images = [
            {"name": name, "image": base64.b64encode(data).decode("ascii")}
            for name, data in workflow.inputs.items()
        ]
        body: dict[str, Any] = {"input": {"workflow": workflow.graph}}
        if images:
            body["input"]["images"] = images
        return json.dumps(body, separators=(",", ":")).encode()

    async def run_workflow(
        self, workflow: Workflow, on_upload: UploadProgress | None = None
    ) -> str:
        data = self.job_body(workflow)
        if len(data) > RUNSYNC_LIMIT:
            raise RequestTooLarge(SERVICE, len(data), RUNSYNC_LIMIT)
        # /run keeps the result 30 min; larger bodies fit only /runsync, asked to answer at
        # once (wait=1000) with the job's id, which is then polled like any other.
        path = "/run" if len(data) <= RUN_LIMIT else "/runsync?wait=1000"
        if on_upload:
            on_upload(0, len(data))
        answer = await self.http.request("POST", self._url(path), data)
        if answer.status == 413:
            raise RequestTooLarge(
                SERVICE, len(data), RUN_LIMIT if path == "/run" else RUNSYNC_LIMIT
            )
        body = self._checked(answer)
        job_id = str(body.get("id") or "") if isinstance(body, dict) else ""
        if not job_id:
            raise ConnectionFailure(
                FailureKind.HTTP_ERROR,
                f"{SERVICE} accepted the job but sent no job id. Try again.",
                details=str(answer.body)[:300],
            )
        if on_upload:
            on_upload(len(data), len(data))
        self.stats[job_id] = JobStats()
        self._followers[job_id] = asyncio.create_task(self._follow(job_id, body))
        return job_id

    async def discover_models(self, max_polls: int = 240) -> ServerModels:
        """Ask the worker for its checkpoints with a one-time job that names a checkpoint no
        worker has: worker-comfyui's refusal lists the ones it has. Costs one (cold) start
        of a worker; the list is then kept until the next refresh."""
        graph = {
            "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": DISCOVERY}},
            "2": {"class_type": "EmptyLatentImage",
                  "inputs": {"width": 64, "height": 64, "batch_size": 1}},
            "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["1", 2]}},
            "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}},
        }  # fmt: skip
        data = json.dumps({"input": {"workflow": graph}}).encode()
        body = self._checked(await self.http.request("POST", self._url("/run"), data))
        job_id = str(body.get("id", "")) if isinstance(body, dict) else ""
        status: dict[str, Any] = body if isinstance(body, dict) else {}
        for poll in range(max_polls):
            if status.get("status") in FINAL:
                break
            await self.http.sleep(
                self.config.poll_delays[min(poll, len(self.config.poll_delays) - 1)]
            )
            answer = self._checked(await self.http.request("GET", self._url(f"/status/{job_id}")))
            status = answer if isinstance(answer, dict) else {}
        text = str(status.get("error") or "")
        found = re.search(r"Available checkpoint models: ([^\n]*)", text)
        if found:
            names = [n.strip() for n in found.group(1).split(",") if n.strip()]
        elif "No checkpoint models appear to be available" in text:
            names = []
        else:
            raise ConnectionFailure(
                FailureKind.HTTP_ERROR,
                "The worker did not list its models (it may not be the official ComfyUI worker, "
                "or it is still starting). Enter your checkpoints in the connection settings.",
                details=text[:500],
            )
        self.models = ServerModels(checkpoints=names, device=self.models.device)
        self.models_from = "a discovery job on the worker"
        return self.models

    async def cancel(self, job_id: str) -> None:
        """Cancel this client's job; ids it did not submit are left alone."""
        if job_id not in self._followers or job_id in self._ended:
            return
        answer = await self.http.request("POST", self._url(f"/cancel/{job_id}"), b"{}")
        if answer.status == 404:
            return  # already gone; its follower reports how it ended
        body = self._checked(answer)
        if isinstance(body, dict) and body.get("status") == "CANCELLED":
            self._followers[job_id].cancel()
            self._end(Interrupted(job_id))

    def job_cost(self, job_id: str) -> float:
        """Billed execution time × the configured per-second price (0 when unknown)."""
        stats = self.stats.get(job_id)
        return stats.execution_ms / 1000 * self.config.price_per_second if stats else 0.0

    @property
    def session_cost(self) -> float:
        return sum(self.job_cost(job_id) for job_id in self.stats)

    # Events -------------------------------------------------------------------------------

    async def listen(self) -> AsyncIterator[JobEvent]:
        while True:
            yield await self.events.get()

    def _end(self, event: Finished | Failed | Interrupted) -> None:
        if event.job_id in self._ended:
            return
        self._ended.add(event.job_id)
        self.events.put_nowait(event)

    async def _follow(self, job_id: str, status: dict[str, Any]) -> None:
        announced = ""
        polls = 0
        while True:
            state = str(status.get("status", ""))
            stats = self.stats[job_id]
            stats.delay_ms = int(status.get("delayTime") or stats.delay_ms)
            stats.execution_ms = int(status.get("executionTime") or stats.execution_ms)
            if state == "IN_QUEUE" and announced != state:
                announced = state
                self.events.put_nowait(Queued(job_id, 0, await self._queue_note()))
            elif state in ("IN_PROGRESS", "RUNNING") and announced != "IN_PROGRESS":
                announced = "IN_PROGRESS"
                self.start_delay_estimate = stats.delay_ms / 1000
                self.events.put_nowait(Started(job_id, _started_note(stats.delay_ms)))
            elif state in FINAL:
                await self._finish(job_id, state, status)
                return
            await self.http.sleep(
                self.config.poll_delays[min(polls, len(self.config.poll_delays) - 1)]
            )
            polls += 1
            next_status = await self._poll(job_id)
            if next_status is None:
                return
            status = next_status

    async def _poll(self, job_id: str) -> dict[str, Any] | None:
        """The job's status; None when it ended here (lost, refused). Network failures are
        reported as a connection state and retried at the longest pause until it answers."""
        failures = 0
        while True:
            try:
                answer = await self.http.request("GET", self._url(f"/status/{job_id}"))
            except ConnectionFailure as e:
                failures += 1
                if failures == 1 or failures == 5:
                    state = "reconnecting" if failures == 1 else "disconnected"
                    self._online = False
                    self.events.put_nowait(
                        ConnectionState(
                            state,
                            f"{e.message} The job keeps running on RunPod; its result is "
                            "fetched when the connection is back (RunPod keeps it 30 minutes).",
                        )
                    )
                await self.http.sleep(self.config.poll_delays[-1])
                continue
            if not self._online:
                self._online = True
                self.events.put_nowait(ConnectionState("connected", "Reconnected."))
            if answer.status == 404:
                self._end(
                    Failed(
                        job_id,
                        f"{SERVICE} no longer knows this job: results are kept 30 minutes after "
                        "the job ends. Generate again.",
                        retryable=True,
                    )
                )
                return None
            try:
                body = self._checked(answer)
            except ConnectionFailure as e:
                self._end(Failed(job_id, e.message, details=e.details))
                return None
            return body if isinstance(body, dict) else {}

    async def _queue_note(self) -> str:
        try:
            health = await self.health()
        except ConnectionFailure:
            return "Waiting for a worker."
        if health.cold:
            return (
                "Waiting for a worker to start (cold start: from a few seconds with FlashBoot to "
                "a few minutes when models load)."
            )
        if health.in_queue > 1:
            return f"Waiting for a worker ({health.in_queue} jobs queued on the endpoint)."
        return "Waiting for a worker."

    async def _finish(self, job_id: str, state: str, status: dict[str, Any]) -> None:
        if state == "CANCELLED":
            self._end(Interrupted(job_id))
        elif state == "TIMED_OUT":
            self._end(
                Failed(
                    job_id,
                    "The job took longer than the endpoint's execution timeout and was stopped. "
                    "Raise the timeout on the endpoint, or use fewer steps or a smaller image.",
                )
            )
        elif state == "FAILED":
            message, details, retryable = worker_error(status)
            self._end(Failed(job_id, message, details=details, retryable=retryable))
        else:
            try:
                images = await self._images(status.get("output"))
            except ConnectionFailure as e:
                self._end(Failed(job_id, e.message, details=e.details))
                return
            if images:
                self._end(Finished(job_id, images))
            else:
                self._end(
                    Failed(
                        job_id,
                        "The worker finished but returned no image. Its workflow needs a "
                        "SaveImage node; check the worker's logs in the RunPod console.",
                        details=str(status.get("output"))[:500],
                    )
                )

    async def _images(self, output: Any) -> list[bytes]:
        if not isinstance(output, dict):
            return []
        images: list[bytes] = []
        for item in output.get("images") or []:
            if not isinstance(item, dict) or not isinstance(item.get("data"), str):
                continue
            if item.get("type") == "s3_url":
                images.append(await self.http.download(item["data"]))
            else:
                data = item["data"]
                images.append(base64.b64decode(data.split(",", 1)[-1]))
        return images

    # HTTP ---------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.config.url + path

    def _checked(self, answer: Answer) -> Any:
        if answer.ok:
            return answer.body
        status = answer.status
        if status in (401, 403):
            raise ConnectionFailure(
                FailureKind.AUTH,
                f"RunPod refused the API key ({status}). Check the key in the connection "
                "settings (RunPod console → Settings → API Keys); it needs access to Serverless.",
            )
        if status == 404:
            raise ConnectionFailure(
                FailureKind.INVALID_URL,
                f"RunPod has no serverless endpoint '{self.config.endpoint_id}'. Check the "
                "endpoint id in the connection settings (RunPod console → Serverless).",
            )
        if status == 400:
            raise ConnectionFailure(
                FailureKind.HTTP_ERROR,
                f"{SERVICE} refused the job as malformed (400). Please report this problem.",
                details=str(answer.body)[:500],
            )
        raise ConnectionFailure(
            FailureKind.HTTP_ERROR,
            f"{SERVICE} answered with an error ({status}). Try again in a minute; if it "
            "persists, check RunPod's status page.",
            details=str(answer.body)[:500],
        )


def _started_note(delay_ms: int) -> str:
    seconds = delay_ms / 1000
    if seconds >= 10:
        return f"Running (waited {seconds:.0f} s for a worker, cold start included)."
    return "Running."


def worker_error(status: dict[str, Any]) -> tuple[str, str, bool]:
    """(message, details, retryable) for a FAILED job: the worker's own words, unpacked from
    the shapes runpod-python and worker-comfyui use (a string, or a JSON string of an uncaught
    exception with its traceback). worker-comfyui reports problems of the job itself as a
    plain error; an uncaught exception is trouble of the worker, so the job may run elsewhere."""
    retryable = False
    error = status.get("error")
    output = status.get("output")
    details = json.dumps(output)[:1000] if output else ""
    text = error if isinstance(error, str) else json.dumps(error) if error else ""
    with contextlib.suppress(ValueError):
        parsed = json.loads(text) if text.startswith("{") else None
        if isinstance(parsed, dict) and parsed.get("error_message"):
            details = str(parsed.get("error_traceback", ""))[-1000:]
            text = f"{parsed.get('error_type', 'Error')}: {parsed['error_message']}"
            retryable = True
    if isinstance(output, dict) and isinstance(output.get("details"), list) and output["details"]:
        text = f"{text}: {'; '.join(str(d) for d in output['details'][:3])}"
    text = text or "no reason given"
    return f"The serverless worker could not run the job: {text}", details, retryable
