"""A fake RunPod Serverless job API with the official ComfyUI worker behind it
(https://docs.runpod.io/serverless/endpoints/operations and
https://github.com/runpod-workers/worker-comfyui), on aiohttp.

Strict where the real one is: the API key (``Authorization: Bearer`` or the bare key, as the
docs' curl examples send it), the endpoint id, the 10 MB ``/run`` and 20 MB ``/runsync`` body
limits, the worker's input validation, its error shapes and statuses. Graphs are validated
against the captured ComfyUI object_info and run on the fake executor, so results are real
pixels. Jobs advance one state per ``/status`` poll (no clocks): IN_QUEUE for
``queue_polls`` polls (``cold_start_polls`` more while no worker is warm), IN_PROGRESS once,
then the end.

Assumed, not documented: a too-large body is answered 413; a 401 carries a short JSON body.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from ai_diffusion.workflow.object_info import combo_options
from tests.fakes.comfy_server import FakeComfy
from tests.fakes.comfy_validation import validate
from tests.fakes.executor import ExecutionError, execute

RUN_LIMIT = 10 * 2**20
RUNSYNC_LIMIT = 20 * 2**20


@dataclass
class ServerlessJob:
    id: str
    body: Any
    status: str = "IN_QUEUE"
    polls_left: int = 0
    delay_ms: int = 0
    output: Any = None
    error: Any = None
    execution_ms: int = 0
    fate: str = ""  # "", "worker_gone", "timed_out", "expired"


@dataclass
class FakeServerless:
    endpoint_id: str = "4m7x2k9q1abcde"
    api_key: str = "rp-serverless-key-0123456789"
    comfy: FakeComfy = field(default_factory=FakeComfy.create)
    jobs: dict[str, ServerlessJob] = field(default_factory=dict)
    warm_workers: int = 0  # idle workers; 0 = the next job cold-starts
    queue_polls: int = 1
    cold_start_polls: int = 2
    cold_start_ms: int = 42_000
    rate_limited: int = 0  # answer the next N requests with 429
    retry_after: str = "1"
    next_fate: list[str] = field(default_factory=list)  # fates for the next submitted jobs
    s3: bool = False  # results as bucket URLs (worker with BUCKET_ENDPOINT_URL)
    bucket: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, body size
    auth_headers: list[str] = field(default_factory=list, repr=False)
    base_url: str = ""  # set by the test once served, for bucket URLs

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware], client_max_size=64 * 2**20)
        r = app.router
        r.add_post("/v2/{endpoint}/run", self.run)
        r.add_post("/v2/{endpoint}/runsync", self.runsync)
        r.add_get("/v2/{endpoint}/status/{id}", self.status)
        r.add_post("/v2/{endpoint}/cancel/{id}", self.cancel)
        r.add_get("/v2/{endpoint}/health", self.health)
        r.add_get("/bucket/{name}", self.bucket_get)
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        size = request.content_length or 0
        self.requests.append((request.method, request.path, size))
        if request.path.startswith("/bucket/"):
            if "Authorization" in request.headers:  # a presigned URL needs no key; never send it
                return web.Response(status=400, text="unexpected Authorization header")
            return await handler(request)
        auth = request.headers.get("Authorization", "")
        self.auth_headers.append(auth)
        if auth not in (f"Bearer {self.api_key}", self.api_key):
            return web.json_response({"error": "Unauthorized"}, status=401)
        if self.rate_limited > 0:
            self.rate_limited -= 1
            return web.json_response(
                {"error": "rate limit exceeded"},
                status=429,
                headers={"Retry-After": self.retry_after},
            )
        if request.match_info.get("endpoint") != self.endpoint_id:
            return web.json_response({"error": "endpoint not found"}, status=404)
        return await handler(request)

    # Submitting ---------------------------------------------------------------------------

    async def _submit(self, request: web.Request, limit: int) -> ServerlessJob | web.Response:
        data = await request.read()
        if len(data) > limit:
            return web.json_response({"error": "request body too large"}, status=413)
        try:
            body = json.loads(data)
        except ValueError:
            return web.json_response({"error": "invalid JSON body"}, status=400)
        if not isinstance(body, dict) or "input" not in body:
            return web.json_response({"error": "missing input"}, status=400)
        job = ServerlessJob(
            f"{uuid.uuid4()}-u1",
            body["input"],
            polls_left=self.queue_polls + (0 if self.warm_workers else self.cold_start_polls),
            delay_ms=1200 if self.warm_workers else self.cold_start_ms,
            fate=self.next_fate.pop(0) if self.next_fate else "",
        )
        self.jobs[job.id] = job
        return job

    async def run(self, request: web.Request) -> web.Response:
        job = await self._submit(request, RUN_LIMIT)
        if isinstance(job, web.Response):
            return job
        return web.json_response({"id": job.id, "status": job.status})

    async def runsync(self, request: web.Request) -> web.Response:
        job = await self._submit(request, RUNSYNC_LIMIT)
        if isinstance(job, web.Response):
            return job
        if job.polls_left == 0:
            self._advance(job)
            self._advance(job)
        return web.json_response(self._status_body(job))

    # Following ----------------------------------------------------------------------------

    async def status(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return web.json_response({"error": "job not found"}, status=404)
        self._advance(job)
        if job.fate == "expired" and job.status == "COMPLETED":  # ended while nobody looked
            del self.jobs[job.id]
            return web.json_response({"error": "job not found"}, status=404)
        return web.json_response(self._status_body(job))

    def _status_body(self, job: ServerlessJob) -> dict[str, Any]:
        body: dict[str, Any] = {"id": job.id, "status": job.status}
        if job.status != "IN_QUEUE":
            body["delayTime"] = job.delay_ms
        if job.status in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELLED"):
            body["executionTime"] = job.execution_ms
        if job.output is not None:
            body["output"] = job.output
        if job.error is not None:
            body["error"] = job.error
        return body

    def _advance(self, job: ServerlessJob) -> None:
        if job.status == "IN_QUEUE":
            if job.polls_left > 0:
                job.polls_left -= 1
                return
            job.status = "IN_PROGRESS"
            self.warm_workers = max(self.warm_workers, 1)
        elif job.status == "IN_PROGRESS":
            self._execute(job)

    def _execute(self, job: ServerlessJob) -> None:
        job.execution_ms = 3456
        if job.fate == "worker_gone":
            job.status = "FAILED"
            job.error = json.dumps(
                {
                    "error_type": "<class 'RuntimeError'>",
                    "error_message": "worker exited unexpectedly (host lost)",
                    "error_traceback": "Traceback (most recent call last): …",
                    "hostname": "abc123",
                    "worker_id": "abc123",
                    "runpod_version": "1.7.9",
                }
            )
            return
        if job.fate == "timed_out":
            job.status = "TIMED_OUT"
            return
        result = self._handler(job.body)
        if "error" in result:  # runpod-python: the error goes top level, the rest stays output
            job.error = result.pop("error")
            job.output = result or None
            job.status = "FAILED"
        else:
            job.output = result
            job.status = "COMPLETED"

    def _handler(self, job_input: Any) -> dict[str, Any]:
        """What worker-comfyui's handler returns for ``job_input``."""
        if job_input is None:
            return {"error": "Please provide input"}
        if isinstance(job_input, str):
            try:
                job_input = json.loads(job_input)
            except ValueError:
                return {"error": "Invalid JSON format in input"}
        workflow = job_input.get("workflow") if isinstance(job_input, dict) else None
        if workflow is None:
            return {"error": "Missing 'workflow' parameter"}
        images = job_input.get("images")
        if images is not None and (
            not isinstance(images, list)
            or not all(isinstance(i, dict) and "name" in i and "image" in i for i in images)
        ):
            return {"error": "'images' must be a list of objects with 'name' and 'image' keys"}
        inputs: dict[str, bytes] = {}
        problems = []
        for item in images or []:
            try:
                inputs[item["name"]] = base64.b64decode(
                    item["image"].split(",", 1)[-1], validate=True
                )
            except (binascii.Error, ValueError) as e:
                problems.append(f"Error decoding base64 for {item['name']}: {e}")
        if problems:
            return {"error": "Failed to upload one or more input images", "details": problems}
        rejected = validate(workflow, self.comfy.object_info, inputs)
        if rejected:
            return {"error": self._validation_message(rejected)}
        try:
            outputs = execute(workflow, inputs.__getitem__)
        except ExecutionError as e:
            return {
                "error": "Job processing failed",
                "details": [
                    f"Workflow execution error: Node Type: {e.node_type}, Node ID: {e.node_id}, "
                    f"Message: {e}"
                ],
            }
        saved = [
            data
            for node_id, images_out in outputs.items()
            if workflow[node_id]["class_type"] == "SaveImage"
            for data in images_out
        ]
        if not saved:
            return {"status": "success_no_images", "images": []}
        results = []
        for i, data in enumerate(saved):
            name = f"ComfyUI_{i + 1:05d}_.png"
            if self.s3:
                key = f"{uuid.uuid4().hex}-{name}"
                self.bucket[key] = data
                results.append(
                    {"filename": name, "type": "s3_url", "data": f"{self.base_url}/bucket/{key}"}
                )
            else:
                results.append(
                    {"filename": name, "type": "base64", "data": base64.b64encode(data).decode()}
                )
        return {"images": results}

    def _validation_message(self, rejected: dict[str, Any]) -> str:
        """How worker-comfyui words ComfyUI's 400: one bullet per node error entry, and the
        worker's checkpoints when a ckpt_name was not in the list."""
        error = rejected.get("error", {})
        message = "Workflow validation failed"
        if error.get("type") != "prompt_outputs_failed_validation":
            message = str(error.get("message", message))
        details = [
            f"Node {node_id} ({key}): {value}"
            for node_id, node_error in rejected.get("node_errors", {}).items()
            for key, value in node_error.items()
        ]
        if not details:
            return f"{message}. Raw response: {json.dumps(rejected)}"
        text = f"{message}:\n" + "\n".join(f"• {d}" for d in details)
        if any("not in list" in d and "ckpt_name" in d for d in details):
            spec = self.comfy.object_info["CheckpointLoaderSimple"]["input"]["required"][
                "ckpt_name"
            ]
            names = combo_options(spec) or []
            if names:
                text += f"\n\nAvailable checkpoint models: {', '.join(names)}"
            else:
                text += "\n\nNo checkpoint models appear to be available. Please check your model installation."
        return text

    # Other routes -------------------------------------------------------------------------

    async def cancel(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            return web.json_response({"error": "job not found"}, status=404)
        if job.status in ("IN_QUEUE", "IN_PROGRESS"):
            job.status = "CANCELLED"
        return web.json_response({"id": job.id, "status": job.status})

    async def health(self, request: web.Request) -> web.Response:
        counts = {
            s: sum(1 for j in self.jobs.values() if j.status == s)
            for s in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED")
        }
        return web.json_response(
            {
                "jobs": {
                    "completed": counts["COMPLETED"],
                    "failed": counts["FAILED"],
                    "inProgress": counts["IN_PROGRESS"],
                    "inQueue": counts["IN_QUEUE"],
                    "retried": 0,
                },
                "workers": {"idle": self.warm_workers, "running": counts["IN_PROGRESS"]},
            }
        )

    async def bucket_get(self, request: web.Request) -> web.Response:
        data = self.bucket.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")
