"""SaladCloud container groups running SaladTechnologies/comfyui-api, behind the backend
contract (:mod:`.contract`).

A job is one ``POST /prompt`` that answers when the images are ready: the graph travels with
its input images as base64 in the ``LoadImage`` nodes (comfyui-api decodes them into files),
the result images come back as base64. There is no websocket, no progress and no preview.

Two things of the Salad Container Gateway shape this module:
- it cuts every request after 100 s. comfyui-api's async mode needs a webhook or a bucket the
  server can reach, which a painter's computer is not, so a job cut by the gateway fails with a
  message saying how to make it shorter (or to use a pod);
- replicas are interruptible and may vanish mid-job. The job is then sent once more, with the
  same graph, images and seed, once the gateway has a ready replica again.

Facts from SaladCloud's documentation (https://docs.salad.com, Container Gateway) and
comfyui-api's README (https://github.com/SaladTechnologies/comfyui-api); nothing here was run
against the live service.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..comfy.config import normalize_url
from ..comfy.errors import ConnectionFailure, FailureKind
from ..comfy.events import Failed, Finished, Interrupted, JobEvent, Queued, Started
from ..comfy.models import DeviceInfo, ServerModels
from ..errors import UserError
from ..logs import register_secret
from ..workflow.builder import Workflow
from .contract import UploadProgress
from .errors import RequestTooLarge
from .graph_jobs import GraphJobApi
from .http import Answer, JsonHttp, Sleep
from .tasks import stop_tasks

log = logging.getLogger(__name__)
PUBLIC_API = "https://api.salad.com/api/public"  # AI_DIFFUSION_SALAD_API replaces it
SERVICE = "your Salad container group"
BODY_LIMIT = 100 * 2**20  # comfyui-api's default MAX_BODY_SIZE_MB
GATEWAY_CUT = 100.0  # seconds; the gateway's longest request
VANISHED = {502, 503}  # the gateway's answer when the replica is gone or none is ready
CUT = {504, 524}
INPUT_NODES = {"LoadImage", "LoadImageMask"}
# comfyui-api's /models keys (its model folders) → ServerModels fields.
FOLDERS = {
    "checkpoints": "checkpoints",
    "diffusion_models": "diffusion_models",
    "unet": "diffusion_models",
    "vae": "vaes",
    "loras": "loras",
    "controlnet": "controlnets",
    "upscale_models": "upscalers",
    "embeddings": "embeddings",
}


@dataclass(frozen=True)
class SaladConfig:
    url: str  # the group's access URL, https://<name>.salad.cloud
    api_key: str = field(default="", repr=False)  # sent as Salad-Api-Key when the gateway has auth
    ready_checks: tuple[float, ...] = (2.0, 4.0, 8.0, 15.0, 30.0)  # pauses before a retry
    request_timeout: float = 60.0

    kind = "salad"

    @property
    def name(self) -> str:
        return f"SaladCloud {self.url.split('://', 1)[-1]}"


class SaladComfyApi(GraphJobApi):
    def __init__(self, config: SaladConfig, http: JsonHttp) -> None:
        self.config = config
        self.http = http
        self.models = ServerModels(device=DeviceInfo(name=config.name, type="salad"))
        self.events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self.retried: set[str] = set()  # jobs sent a second time after a replica vanished
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._ended: set[str] = set()
        self._cancelled: set[str] = set()

    @classmethod
    async def connect(cls, config: SaladConfig, *, sleep: Sleep = asyncio.sleep) -> SaladComfyApi:
        """Check the group answers ``/ready`` (and the key, when the gateway has auth), then
        read ``/models``."""
        url, _, _ = normalize_url(config.url)
        config = replace(config, url=url)
        register_secret(config.api_key)
        headers = {"Accept": "application/json"}
        if config.api_key:
            headers["Salad-Api-Key"] = config.api_key
        http = JsonHttp(SERVICE, headers, sleep=sleep, timeout=config.request_timeout)
        backend = cls(config, http)
        try:
            ready = await http.request("GET", config.url + "/ready")
            if ready.status == 503:
                raise ConnectionFailure(
                    FailureKind.STARTING,
                    f"{config.url} has no ready replica yet (it is starting, downloading its image "
                    "or busy). Wait a few minutes and connect again; check the group in the Salad "
                    "portal if it stays so.",
                )
            backend._checked(ready, "/ready")
            await backend.refresh_models()
        except BaseException:
            await http.close()
            raise
        return backend

    async def refresh_models(self) -> ServerModels:
        answer = await self.http.request("GET", self.config.url + "/models")
        body = self._checked(answer, "/models")
        if not isinstance(body, dict):
            raise ConnectionFailure(
                FailureKind.NOT_COMFYUI,
                f"{self.config.url} answered /models with something comfyui-api would not send. "
                "Check the address.",
            )
        lists: dict[str, list[str]] = {}
        for folder, files in body.items():
            name = FOLDERS.get(folder)
            if name and isinstance(files, list):
                lists.setdefault(name, []).extend(str(f) for f in files)
        self.models = ServerModels(**lists, device=self.models.device)  # type: ignore[arg-type]
        return self.models

    async def add_model(self, url: str, folder: str, filename: str | None = None) -> str:
        """comfyui-api's own download (``POST /models {url, type, filename}``): the replica the
        gateway picks fetches ``url`` into ``folder`` (checkpoints, loras, vae, …). One replica
        only: the others of the group do not get it (the group's model manifest is the way to
        give every replica a model). Returns where the file landed."""
        if folder not in FOLDERS:
            raise UserError(
                f"'{folder}' is not a model folder comfyui-api knows. Use one of: "
                f"{', '.join(FOLDERS)}."
            )
        body: dict[str, Any] = {"url": url, "type": folder}
        if filename:
            body["filename"] = filename
        data = json.dumps(body).encode()
        answer = await self.http.request("POST", self.config.url + "/models", data)
        if answer.status == 504:
            raise UserError(
                "The download takes longer than Salad's gateway waits (100 s). It may still "
                "finish on that replica: refresh the model list in a few minutes. Large models "
                "are better put in the group's model manifest."
            )
        if answer.status in (400, 422):
            raise UserError(
                f"comfyui-api refused the download ({answer.status}): "
                f"{str(answer.field('error') or answer.field('message') or answer.body)[:200]}. "
                "Check the link (it must be a direct https download) and the folder."
            )
        result = self._checked(answer, "/models")
        await self.refresh_models()
        path = result.get("path") if isinstance(result, dict) else None
        return str(path or filename or url.rsplit("/", 1)[-1])

    async def close(self) -> None:
        await stop_tasks(self._jobs.values())
        await self.http.close()

    # Jobs ---------------------------------------------------------------------------------

    def job_body(self, workflow: Workflow, job_id: str) -> bytes:
        """``POST /prompt``'s body: input images inlined as plain base64 (no data: prefix,
        which comfyui-api would decode as part of the image)."""
        graph = json.loads(json.dumps(workflow.graph))
        for node in graph.values():
            image = node.get("inputs", {}).get("image")
            if node.get("class_type") in INPUT_NODES and image in workflow.inputs:
                node["inputs"]["image"] = base64.b64encode(workflow.inputs[image]).decode()
        return json.dumps({"prompt": graph, "id": job_id}, separators=(",", ":")).encode()

    async def run_workflow(
        self, workflow: Workflow, on_upload: UploadProgress | None = None
    ) -> str:
        job_id = str(uuid.uuid4())
        data = self.job_body(workflow, job_id)
        if len(data) > BODY_LIMIT:
            raise RequestTooLarge("comfyui-api", len(data), BODY_LIMIT)
        self.events.put_nowait(
            Queued(
                job_id,
                0,
                "Sent to SaladCloud; it reports no progress, the images arrive when done.",
            )
        )
        self._jobs[job_id] = asyncio.create_task(self._run(job_id, data, on_upload))
        return job_id

    async def cancel(self, job_id: str) -> None:
        """Interrupt this client's job on its replica; ids it did not submit are left alone."""
        task = self._jobs.get(job_id)
        if task is None or job_id in self._ended:
            return
        self._cancelled.add(job_id)
        with contextlib.suppress(ConnectionFailure):
            body = json.dumps({"id": job_id}).encode()
            await self.http.request("POST", self.config.url + "/interrupt", body)
        task.cancel()
        self._end(Interrupted(job_id))

    # Events -------------------------------------------------------------------------------

    async def listen(self) -> AsyncIterator[JobEvent]:
        while True:
            yield await self.events.get()

    def _end(self, event: Finished | Failed | Interrupted) -> None:
        if event.job_id not in self._ended:
            self._ended.add(event.job_id)
            self.events.put_nowait(event)

    async def _run(self, job_id: str, data: bytes, on_upload: UploadProgress | None) -> None:
        try:
            await self._attempts(job_id, data, on_upload)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # never lose the end of a job
            log.exception("salad job %s", job_id)
            self._end(Failed(job_id, f"The job could not be run on {SERVICE}: {e}", retryable=True))

    async def _attempts(self, job_id: str, data: bytes, on_upload: UploadProgress | None) -> None:
        url = self.config.url + "/prompt"
        for attempt in (1, 2):
            if on_upload:
                on_upload(0, len(data))
            note = (
                "Running on SaladCloud (no progress reported)."
                if attempt == 1
                else "The replica went away; running again on another one with the same inputs."
            )
            self.events.put_nowait(Started(job_id, note))
            try:
                answer = await self.http.request("POST", url, data, timeout=GATEWAY_CUT + 30)
            except ConnectionFailure as e:
                if e.kind is FailureKind.TIMEOUT:
                    self._end(self._cut(job_id))
                    return
                answer = Answer(0, str(e.details or e.message))
            if on_upload:
                on_upload(len(data), len(data))
            if job_id in self._cancelled:
                return
            if answer.status in CUT:
                self._end(self._cut(job_id))
                return
            if answer.status == 0 or answer.status in VANISHED:
                if attempt == 1 and await self._wait_until_ready():
                    log.info(
                        "salad job %s: replica gone (%s); sending it again", job_id, answer.status
                    )
                    self.retried.add(job_id)
                    continue
                self._end(
                    Failed(
                        job_id,
                        "The Salad replica running this job went away and no other finished it. "
                        "Salad replicas are interruptible: generate again, or add replicas to "
                        "the group.",
                        details=str(answer.body)[:300],
                        retryable=True,
                    )
                )
                return
            self._end(await self._result(job_id, answer))
            return

    async def _wait_until_ready(self) -> bool:
        for pause in self.config.ready_checks:
            await self.http.sleep(pause)
            with contextlib.suppress(ConnectionFailure):
                answer = await self.http.request("GET", self.config.url + "/ready")
                if answer.ok:
                    return True
        return False

    def _cut(self, job_id: str) -> Failed:
        return Failed(
            job_id,
            "The job took longer than the 100 seconds Salad's gateway allows for one request, so "
            "its images cannot be delivered. Use fewer steps, a smaller image or a smaller batch; "
            "for long jobs use a pod.",
        )

    async def _result(self, job_id: str, answer: Answer) -> Finished | Failed:
        if answer.status in (401, 403):
            return Failed(job_id, self._auth_message(answer.status))
        if not answer.ok:
            error = answer.field("error")
            message = answer.field("message")
            where = answer.field("location")
            if answer.status < 500 and error:
                text = f"{error} (at {where})" if where else str(error)
                return Failed(job_id, f"The Salad server refused the job: {text}")
            reason = str(message or error or f"error {answer.status}")
            return Failed(
                job_id,
                f"The job failed on the Salad server: {reason}",
                details=str(answer.body)[:1000],
            )
        images = answer.field("images")
        if not isinstance(images, list) or not images:
            return Failed(job_id, "The Salad server finished the job but returned no image.")
        try:
            return Finished(job_id, [base64.b64decode(str(i)) for i in images])
        except ValueError:
            return Failed(
                job_id,
                "The Salad server sent results that are not images (is it configured to upload "
                "them to a bucket?). Remove the upload settings from the group.",
            )

    # HTTP ---------------------------------------------------------------------------------

    def _auth_message(self, status: int) -> str:
        if self.config.api_key:
            return (
                f"{self.config.url} refused the Salad API key ({status}). Check the key in the "
                "connection settings (Salad portal → your account → API Access)."
            )
        return (
            f"{self.config.url} needs a Salad API key ({status}): the group's gateway has "
            "authentication on. Enter your key in the connection settings."
        )

    def _checked(self, answer: Answer, path: str) -> Any:
        if answer.ok:
            return answer.body
        if answer.status in (401, 403):
            raise ConnectionFailure(FailureKind.AUTH, self._auth_message(answer.status))
        if answer.status == 404:
            raise ConnectionFailure(
                FailureKind.NOT_COMFYUI,
                f"{self.config.url} answered, but it is not a comfyui-api server ({path} not "
                "found). Check the address: it is the group's access URL from the Salad portal.",
            )
        raise ConnectionFailure(
            FailureKind.HTTP_ERROR,
            f"{self.config.url} answered {path} with an error ({answer.status}). Try again in a "
            "minute.",
            details=str(answer.body)[:300],
        )
