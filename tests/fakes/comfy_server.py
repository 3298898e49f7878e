"""A fake ComfyUI server that behaves as a recorded real one does: 0.8.0 (January 2026) or 0.33.0
(August 2026), from ``tests/data/comfyui/<version>/`` (made by scripts/capture_comfyui.py;
``tests/test_fake_follows_captures.py`` goes red when the fake and a capture disagree).

It serves the captured /system_stats, /features and /object_info, validates posted graphs
against that object_info and answers with the real error shapes, offers the jobs API the
version has (``GET /api/jobs``; ``POST /api/jobs/{id}/cancel`` from 0.26), runs jobs one at a time with the real
websocket message sequence (binary previews included) through tests.fakes.executor, and keeps
history, queue and uploads in memory. Faults can be injected through ``FakeComfy.faults``.

Run alone for GUI tests and benchmarks:  python -m tests.fakes.comfy_server --port 8188
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import functools
import io
import json
import random
import struct
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ai_diffusion.workflow.object_info import combo_options, input_spec
from tests.comfy_capture import Capture
from tests.comfy_capture import read as read_capture
from tests.fakes.comfy_sockets import Sockets
from tests.fakes.comfy_validation import validate
from tests.fakes.executor import OUTPUT_NODES, STREAMING_NODES, ExecutionError, execute

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "comfyui"
# The recorded servers, oldest first: every folder there (a new recording joins the tests).
VERSIONS = tuple(
    sorted((p.name for p in CAPTURES.iterdir() if (p / "http.json").exists()),
           key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()))
)  # fmt: skip
DEFAULT_VERSION = VERSIONS[-1]
# GET /models/{folder}: where each folder's files are listed in object_info.
MODEL_FOLDERS = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "diffusion_models": ("UNETLoader", "unet_name"),
    "text_encoders": ("CLIPLoader", "clip_name"),
    "loras": ("LoraLoader", "lora_name"),
    "vae": ("VAELoader", "vae_name"),
    "controlnet": ("ControlNetLoader", "control_net_name"),
    "upscale_models": ("UpscaleModelLoader", "model_name"),
    "embeddings": ("", ""),
}
# --models DIR: the inputs that list each folder's files (as ComfyUI's loaders do); files found
# under DIR/<folder> join them at every /object_info, /models/<folder> and /prompt.
DISK_MODEL_INPUTS = {
    "checkpoints": [("CheckpointLoaderSimple", "ckpt_name"), ("CheckpointLoader", "ckpt_name"),
                    ("ImageOnlyCheckpointLoader", "ckpt_name"), ("unCLIPCheckpointLoader", "ckpt_name")],
    "diffusion_models": [("UNETLoader", "unet_name")],
    "text_encoders": [("CLIPLoader", "clip_name"), ("DualCLIPLoader", "clip_name1"),
                      ("DualCLIPLoader", "clip_name2")],
    "loras": [("LoraLoader", "lora_name"), ("LoraLoaderModelOnly", "lora_name")],
    "vae": [("VAELoader", "vae_name")],
    "controlnet": [("ControlNetLoader", "control_net_name"), ("DiffControlNetLoader", "control_net_name")],
    "upscale_models": [("UpscaleModelLoader", "model_name")],
    "model_patches": [("ModelPatchLoader", "name")],
}  # fmt: skip


@dataclass
class Faults:
    status: int | None = None  # answer every HTTP request with this status
    html_200: bool = False  # answer with an HTML "not up yet" page and 200
    login_page: bool = False
    token: str | None = None  # require "Authorization: Bearer <token>"
    basic: str | None = None  # require basic auth "user:password" (a proxy in front)
    delay: float = 0.0  # seconds before each HTTP answer
    drop_ws_after_steps: int | None = None  # close every socket after N progress messages
    drop_ws_at_steps: tuple[int, ...] = ()  # close the job's sockets after each of these steps
    drop_chance: float = 0.0  # chance to close the job's sockets after each progress message
    seed: int = 0
    refuse_ws: bool = False
    malformed_frames: bool = False  # interleave garbage and unknown messages
    step_delay: float = 0.0  # seconds per sampler step
    steps_override: int | None = None
    view_failures: int = 0  # answer this many /view requests with 500 first
    # The race a cancel meets on a busy server: after a GET /queue that saw a job running,
    # that job ends at once and the next POST /interrupt arrives only once another job runs
    # (the client's picture of the queue is stale by a round trip).
    stale_queue: bool = False
    prompt_answer_delay: float = 0.0  # seconds between queueing a job and answering /prompt
    drop_ws_instead_of_stream: int = 0  # this many SaveImageWebsocket results are lost
    # … or never arrive while the socket stays open (the silent socket of comfy_sockets.py,
    # where the client learns of the job's end by polling)
    skip_streams: int = 0


@dataclass
class QueuedJob:
    number: int
    prompt_id: str
    graph: dict[str, Any]
    client_id: str
    previews: bool = True  # the server's --preview-method, or the job's extra_data override
    create_time: int = 0  # ms, as ComfyUI stamps extra_data
    extra_data: dict[str, Any] = field(default_factory=dict)  # as posted


@dataclass(frozen=True)
class Behaviour:
    """What differs between the recorded versions, read from their captures."""

    features: dict[str, Any]
    jobs_api: bool  # GET /api/jobs and /api/jobs/{id}
    cancel_api: bool  # POST /api/jobs/{id}/cancel and /api/jobs/cancel
    uuid_ids: bool  # a client's prompt_id must be a canonical UUID
    previewable_count: bool  # jobs carry previewable_outputs_count (newer releases)
    missing_node_type: bool  # an unknown class is refused as missing_node_type

    @classmethod
    def of(cls, capture: Capture) -> Behaviour:
        def ok(key: str) -> bool:
            return capture.http.get(key, {}).get("status") == 200

        return cls(
            features=capture.http["GET /features"]["body"],
            jobs_api=ok("GET /api/jobs?limit=2"),
            cancel_api=ok("POST /api/jobs/{id}/cancel (pending)"),
            uuid_ids=capture.errors["err_prompt_id_not_uuid"]["status"] == 400,
            missing_node_type=capture.errors["err_unknown_node_class"]["body"]["error"]["type"]
            == "missing_node_type",
            previewable_count="previewable_outputs_count"
            in capture.http.get("GET /api/jobs/{id} (running)", {}).get("body", {}),
        )


def load_capture(version: str = DEFAULT_VERSION) -> Capture:
    return _load_capture(version)


@functools.cache
def _load_capture(version: str) -> Capture:
    return read_capture(CAPTURES / version)


@dataclass
class FakeComfy:
    object_info: dict[str, Any] = field(default_factory=dict)
    system_stats: dict[str, Any] = field(default_factory=dict)
    behaviour: Behaviour = field(
        default_factory=lambda: Behaviour.of(load_capture(DEFAULT_VERSION))
    )
    faults: Faults = field(default_factory=Faults)
    inputs: dict[str, bytes] = field(default_factory=dict)
    outputs: dict[tuple[str, str, str], bytes] = field(default_factory=dict)  # type, sub, name
    history: dict[str, Any] = field(default_factory=dict)
    pending: list[QueuedJob] = field(default_factory=list)
    running: QueuedJob | None = None
    sockets: Sockets = field(default_factory=Sockets)
    posted: list[dict[str, Any]] = field(default_factory=list)
    uploads: int = 0
    views: int = 0  # GET /view requests (downloads of results and inputs)
    bytes_in: int = 0
    bytes_out: int = 0
    number: int = 0
    interrupt: set[str] = field(default_factory=set)
    last_node: str | None = None  # the node running now (sent again to a reconnecting client)
    finish_now: set[str] = field(default_factory=set)  # stale_queue: jobs to end at once
    interrupts: list[str | None] = field(default_factory=list)  # prompt_id of each POST
    cancels: list[str] = field(default_factory=list)  # ids given to the jobs API's cancel
    requests: list[str] = field(default_factory=list)  # "GET /history/…", in order
    preview_method: str = "none"  # like ComfyUI's --preview-method (default none)
    models_dir: Path | None = None  # --models: also list the files there (rescanned)
    disk_models: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # listed from it

    @classmethod
    def create(cls, extra_models: int = 0, version: str = DEFAULT_VERSION) -> FakeComfy:
        capture = load_capture(version)
        info = copy.deepcopy(capture.object_info)
        stats = copy.deepcopy(capture.http["GET /system_stats"]["body"])
        if extra_models:
            for cls_name, name in (
                ("CheckpointLoaderSimple", "ckpt_name"),
                ("LoraLoader", "lora_name"),
            ):
                options = info[cls_name]["input"]["required"][name][0]
                options.extend(f"extra/{name}-{i:05d}.safetensors" for i in range(extra_models))
        return cls(object_info=info, system_stats=stats, behaviour=Behaviour.of(capture))

    @property
    def version(self) -> str:
        return str(self.system_stats["system"]["comfyui_version"])

    def restart(self) -> None:
        """Like a server restart: the running job dies; queue, history and sockets are gone
        (inputs stay on disk); the server then serves new jobs again."""
        worker = getattr(self, "worker", None)
        if worker is not None:
            worker.cancel()
            self.worker = asyncio.ensure_future(self._work())
        self.history.clear()
        self.pending.clear()
        self.running = None
        asyncio.ensure_future(self.sockets.close_all())

    # HTTP -----------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware], client_max_size=200 * 2**20)
        r = app.router
        for prefix in ("", "/api"):
            r.add_get(prefix + "/system_stats", self.h_system_stats)
            r.add_get(prefix + "/object_info", self.h_object_info)
            r.add_get(prefix + "/embeddings", self.h_embeddings)
            r.add_get(prefix + "/models", self.h_model_folders)
            r.add_get(prefix + "/models/{folder}", self.h_models)
            r.add_post(prefix + "/upload/image", self.h_upload)
            r.add_post(prefix + "/prompt", self.h_prompt)
            r.add_get(prefix + "/queue", self.h_queue)
            r.add_post(prefix + "/queue", self.h_queue_post)
            r.add_post(prefix + "/interrupt", self.h_interrupt)
            r.add_get(prefix + "/history", self.h_history_all)
            r.add_get(prefix + "/history/{id}", self.h_history)
            r.add_get(prefix + "/view", self.h_view)
            r.add_get(prefix + "/features", self.h_features)
            r.add_get(prefix + "/ws", self.h_ws)
        if self.behaviour.jobs_api:
            r.add_get("/api/jobs", self.h_jobs)
            r.add_get("/api/jobs/{id}", self.h_job)
        if self.behaviour.cancel_api:
            r.add_post("/api/jobs/cancel", self.h_cancel_jobs)
            r.add_post("/api/jobs/{id}/cancel", self.h_cancel_job)
        else:  # older servers: the path is known to the router for GET only
            r.add_post("/api/jobs/{id}/cancel", self.h_not_allowed)
        r.add_get("/_bench/stats", self.h_bench_stats)
        app.on_startup.append(self._start_worker)
        app.on_cleanup.append(self._stop_worker)
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        # ComfyUI's Origin rule (0.8.0: Host and Origin must match on a loopback host; newer
        # releases refuse any foreign Origin and browsers' cross-site requests). A client
        # sends neither header.
        origin = request.headers.get("Origin")
        host = request.headers.get("Host", "").lower()
        if origin:
            origin_host = urlsplit(origin).netloc.lower()  # "null" and "file://" give ""
            if origin_host and origin_host != host:
                return web.Response(status=403)
        if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
            return web.Response(status=403)
        self.requests.append(f"{request.method} {request.path}")
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if self.faults.status:
            return web.Response(status=self.faults.status, text=f"{self.faults.status} error")
        if self.faults.html_200:
            return web.Response(
                text="<html><body><h1>Port not up yet</h1></body></html>", content_type="text/html"
            )
        if self.faults.login_page:
            return web.Response(
                text='<html><form><input type="password" name="p"></form></html>',
                content_type="text/html",
            )
        if (
            self.faults.token
            and request.headers.get("Authorization") != f"Bearer {self.faults.token}"
        ):
            return web.Response(status=401, text="401: Unauthorized")
        if self.faults.basic:
            expected = "Basic " + base64.b64encode(self.faults.basic.encode()).decode()
            if request.headers.get("Authorization") != expected:
                return web.Response(status=401, text="401: Unauthorized")
        response = await handler(request)
        self.bytes_in += request.content.total_bytes
        if isinstance(response, web.Response) and response.body is not None:
            self.bytes_out += len(response.body)  # type: ignore[arg-type]
        return response

    async def h_bench_stats(self, request: web.Request) -> web.Response:
        """Not in ComfyUI: counters for scripts/bench.py."""
        return web.json_response(
            {"bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "uploads": self.uploads}
        )

    async def h_system_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.system_stats)

    async def h_object_info(self, request: web.Request) -> web.Response:
        self.rescan_models()
        return web.json_response(self.object_info)

    def rescan_models(self) -> None:
        """Like ComfyUI: the model lists follow the files in ``models_dir`` (names starting
        with "." are skipped, such as the gateway's partial files)."""
        if self.models_dir is None:
            return
        for folder, inputs in DISK_MODEL_INPUTS.items():
            base = self.models_dir / folder
            found = sorted(
                p.relative_to(base).as_posix()
                for p in (base.rglob("*") if base.is_dir() else [])
                if p.is_file() and not any(s.startswith(".") for s in p.relative_to(base).parts)
            )
            for key in inputs:
                spec = input_spec(self.object_info, *key)
                if not spec or combo_options(spec) is None:
                    continue
                options = spec[0] if isinstance(spec[0], list) else spec[1].get("options")
                if not isinstance(options, list):
                    continue
                gone = self.disk_models.get(key, [])
                options[:] = [o for o in options if o not in gone]
                added = [name for name in found if name not in options]
                options.extend(added)
                self.disk_models[key] = added

    async def h_embeddings(self, request: web.Request) -> web.Response:
        return web.json_response(["random-embedding"])

    async def h_model_folders(self, request: web.Request) -> web.Response:
        return web.json_response(sorted(MODEL_FOLDERS))

    async def h_models(self, request: web.Request) -> web.Response:
        folder = MODEL_FOLDERS.get(request.match_info["folder"])
        if folder is None:
            return web.Response(status=404)
        if folder == ("", ""):
            return web.json_response(["random-embedding.safetensors"])
        self.rescan_models()
        spec = self.object_info[folder[0]]["input"]["required"][folder[1]]
        return web.json_response(combo_options(spec) or [])

    async def h_upload(self, request: web.Request) -> web.Response:
        post = await request.post()
        image = post.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        data = image.file.read()
        subfolder = str(post.get("subfolder") or "").strip("/")
        name = f"{subfolder}/{image.filename}" if subfolder else image.filename
        overwrite = str(post.get("overwrite", "")).lower() == "true"
        if not overwrite and name in self.inputs and self.inputs[name] != data:
            stem, ext = name.rsplit(".", 1)
            i = 1
            while f"{stem} ({i}).{ext}" in self.inputs:
                i += 1
            name = f"{stem} ({i}).{ext}"
        self.inputs[name] = data
        self.uploads += 1
        return web.json_response(
            {"name": name.rsplit("/", 1)[-1], "subfolder": subfolder, "type": "input"}
        )

    async def h_prompt(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except ValueError:
            return web.Response(
                status=500, text="500 Internal Server Error\n\nServer got itself in trouble"
            )
        graph = body.get("prompt")
        if not isinstance(graph, dict):
            return web.json_response(
                {
                    "error": {
                        "type": "no_prompt",
                        "message": "No prompt provided",
                        "details": "No prompt provided",
                        "extra_info": {},
                    },
                    "node_errors": {},
                },
                status=400,
            )
        error = self.validate(graph)
        if error:
            return web.json_response(error, status=400)
        prompt_id = body.get("prompt_id")
        prompt_id = str(uuid.uuid4()) if prompt_id is None else str(prompt_id)
        if self.behaviour.uuid_ids and not _canonical_uuid(prompt_id):
            # Newer releases: a client's id must be a canonical UUID (the recorded refusal).
            refusal = load_capture(self.version).errors["err_prompt_id_not_uuid"]
            return web.json_response(refusal["body"], status=refusal["status"])
        self.posted.append(body)
        extra = body.get("extra_data") if isinstance(body.get("extra_data"), dict) else {}
        method = str(extra.get("preview_method") or self.preview_method)
        job = QueuedJob(
            self.number, prompt_id, graph, str(body.get("client_id", "")), method != "none",
            create_time=_now_ms(), extra_data=dict(extra),
        )  # fmt: skip
        self.number += 1
        self.pending.append(job)
        self.wake.set()
        await self.broadcast_status()
        await asyncio.sleep(self.faults.prompt_answer_delay)
        return web.json_response({"prompt_id": prompt_id, "number": job.number, "node_errors": {}})

    def validate(self, graph: dict[str, Any]) -> dict[str, Any] | None:
        self.rescan_models()
        body = validate(graph, self.object_info, self.inputs)
        if body and self.behaviour.missing_node_type and body["error"]["type"] == "invalid_prompt":
            # Newer releases name a class they lack with its id and title (execution.py).
            node = body["error"]["details"].removeprefix("Node ID '#").removesuffix("'")
            class_type = graph[node]["class_type"]
            title = (graph[node].get("_meta") or {}).get("title", class_type)
            body["error"].update(
                type="missing_node_type",
                message=f"Node '{title}' not found. The custom node may not be installed.",
                extra_info={"node_id": node, "class_type": class_type, "node_title": title},
            )
        return body

    def _queue_item(self, job: QueuedJob) -> list[Any]:
        extra = {**job.extra_data, "client_id": job.client_id, "create_time": job.create_time}
        return [job.number, job.prompt_id, job.graph, extra, _output_nodes(job.graph)]

    async def h_queue(self, request: web.Request) -> web.Response:
        running = [self._queue_item(self.running)] if self.running else []
        if self.faults.stale_queue and self.running:
            self.finish_now.add(self.running.prompt_id)
        return web.json_response(
            {
                "queue_running": running,
                "queue_pending": [self._queue_item(j) for j in reversed(self.pending)],
            }
        )

    async def h_queue_post(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("clear"):
            self.pending.clear()
        delete = set(body.get("delete", []))
        self.pending = [j for j in self.pending if j.prompt_id not in delete]
        return web.Response()

    async def h_features(self, request: web.Request) -> web.Response:
        return web.json_response(self.behaviour.features)

    # The jobs API (comfy_execution/jobs.py): one view of queue and history per job.

    def _job(self, prompt_id: str, full: bool) -> dict[str, Any] | None:
        job = self._job_any_version(prompt_id, full)
        if job is not None and not self.behaviour.previewable_count:
            job.pop("previewable_outputs_count", None)
        return job

    def _job_any_version(self, prompt_id: str, full: bool) -> dict[str, Any] | None:
        entry = self.history.get(prompt_id)
        if entry is not None:
            return _history_job(prompt_id, entry, full)
        if self.running and self.running.prompt_id == prompt_id:
            return _queued_job(self.running, "in_progress")
        for job in self.pending:
            if job.prompt_id == prompt_id:
                return _queued_job(job, "pending")
        return None

    async def h_jobs(self, request: web.Request) -> web.Response:
        query = request.rel_url.query
        ids = [*self.history, *([self.running.prompt_id] if self.running else []),
               *(j.prompt_id for j in self.pending)]  # fmt: skip
        jobs = [job for i in ids if (job := self._job(i, False)) is not None]
        wanted = [s for s in query.get("status", "").split(",") if s]
        if wanted:
            jobs = [j for j in jobs if j["status"] in wanted]
        jobs.sort(key=lambda j: j.get("create_time", 0), reverse=True)
        total = len(jobs)
        offset = int(query.get("offset", "0") or 0)
        limit = int(query["limit"]) if "limit" in query else None
        page = jobs[offset : None if limit is None else offset + limit]
        return web.json_response(
            {
                "jobs": page,
                "pagination": {
                    "offset": offset,
                    "limit": limit,
                    "total": total,
                    "has_more": offset + len(page) < total,
                },
            }  # fmt: skip
        )

    async def h_job(self, request: web.Request) -> web.Response:
        job = self._job(request.match_info["id"], True)
        if job is None:
            return web.json_response({"error": "Job not found"}, status=404)
        return web.json_response(job)

    def _cancel(self, prompt_id: str) -> bool:
        """Like ComfyUI 0.26+: interrupt it if it runs, dequeue it if it waits; a finished or
        unknown id is a no-op."""
        self.cancels.append(prompt_id)
        if self.running and self.running.prompt_id == prompt_id:
            self.interrupt.add(prompt_id)
            return True
        before = len(self.pending)
        self.pending = [j for j in self.pending if j.prompt_id != prompt_id]
        return len(self.pending) < before

    async def h_not_allowed(self, request: web.Request) -> web.Response:
        return web.Response(status=405, text="405: Method Not Allowed")

    async def h_cancel_job(self, request: web.Request) -> web.Response:
        return web.json_response({"cancelled": self._cancel(request.match_info["id"])})

    async def h_cancel_jobs(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "Request body must be valid JSON"}, status=400)
        ids = body.get("job_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            return web.json_response({"error": "job_ids must be a list"}, status=400)
        invalid = [i if isinstance(i, str) else repr(i) for i in ids if not _canonical_uuid(i)]
        if invalid:
            return web.json_response(
                {"error": "job_ids contains invalid id(s)", "invalid_ids": invalid}, status=400
            )
        results = [self._cancel(i) for i in ids]
        return web.json_response({"cancelled": any(results)})

    async def h_interrupt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        target = body.get("prompt_id") if isinstance(body, dict) else None
        self.interrupts.append(target if isinstance(target, str) else None)
        if self.faults.stale_queue and self.finish_now:
            for _ in range(500):  # until the stale job ended and another one runs
                if self.running and self.running.prompt_id not in self.finish_now:
                    break
                await asyncio.sleep(0.01)
        # Like ComfyUI: with a prompt_id only that job, if it runs; without, whatever runs.
        if self.running and (not target or target == self.running.prompt_id):
            self.interrupt.add(self.running.prompt_id)
        return web.Response()

    async def h_history_all(self, request: web.Request) -> web.Response:
        items = list(self.history.items())
        max_items = request.query.get("max_items")
        if max_items and max_items.isdigit():
            items = items[-int(max_items) :]
        return web.json_response(dict(items))

    async def h_history(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["id"]
        entry = self.history.get(prompt_id)
        return web.json_response({prompt_id: entry} if entry else {})

    async def h_view(self, request: web.Request) -> web.Response:
        self.views += 1
        if self.faults.view_failures > 0:
            self.faults.view_failures -= 1
            return web.Response(status=500, text="500 Internal Server Error")
        # Like ComfyUI: the file is looked up in the folder its type names (output, temp or
        # input), under its subfolder; the same name elsewhere is another file.
        kind = request.query.get("type") or "output"
        subfolder = request.query.get("subfolder", "")
        name = request.query.get("filename", "")
        if kind == "input":
            data = self.inputs.get(f"{subfolder}/{name}" if subfolder else name)
        else:
            data = self.outputs.get((kind, subfolder, name))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def h_ws(self, request: web.Request) -> web.StreamResponse:
        if self.faults.refuse_ws or self.faults.status:
            return web.Response(status=self.faults.status or 403)
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        self.sockets.register(client_id, ws)
        try:
            await self.send(
                client_id,
                "status",
                {"status": {"exec_info": {"queue_remaining": self._remaining()}}, "sid": client_id},
            )
            if self.running and self.running.client_id == client_id and self.last_node:
                await self.send(client_id, "executing", {"node": self.last_node})
            first_message = True
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    continue
                # Like ComfyUI: flags count only as the connection's first message.
                if first_message and isinstance(data, dict) and data.get("type") == "feature_flags":
                    flags = data.get("data")
                    self.sockets.set_flags(client_id, flags if isinstance(flags, dict) else {})
                    await self.send(client_id, "feature_flags", self.behaviour.features)
                first_message = False
        finally:
            await self.sockets.unregister(client_id, ws)
        return ws

    # Execution ------------------------------------------------------------------------------

    async def _start_worker(self, app: web.Application) -> None:
        self.rng = random.Random(self.faults.seed)
        self.wake = asyncio.Event()
        self.worker = asyncio.ensure_future(self._work())

    async def _stop_worker(self, app: web.Application) -> None:
        self.worker.cancel()
        await self.sockets.close_all()

    async def send(self, client_id: str, type_: str, data: dict[str, Any]) -> None:
        await self.sockets.send_json(client_id, {"type": type_, "data": data})

    def _remaining(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    async def broadcast_status(self) -> None:
        """``status`` goes to every socket, whoever queued the job."""
        data = {"status": {"exec_info": {"queue_remaining": self._remaining()}}}
        for client_id in self.sockets.ids():
            await self.send(client_id, "status", data)

    async def send_binary(
        self, client_id: str, prompt_id: str, node: str, image: bytes, png: bool = False
    ) -> None:
        """A step preview (JPEG) or a SaveImageWebsocket result (PNG), framed as ComfyUI does:
        event 4 with metadata for clients that asked for it, else event 1 with the format."""
        if self.sockets.wants_metadata(client_id):
            meta = json.dumps(
                {
                    "node_id": node,
                    "prompt_id": prompt_id,
                    "display_node_id": node,
                    "parent_node_id": None,
                    "real_node_id": node,
                    "image_type": "image/png" if png else "image/jpeg",
                }
            ).encode()
            frame = struct.pack(">II", 4, len(meta)) + meta + image
        else:
            frame = struct.pack(">II", 1, 2 if png else 1) + image
        await self.sockets.send_bytes(client_id, frame)

    async def _work(self) -> None:
        while True:
            if not self.pending:
                self.wake.clear()
                await self.wake.wait()
                continue
            job = self.pending.pop(0)
            self.running = job
            try:
                await self._run(job)
            except Exception as e:  # keep serving; record like the real server would
                self.history[job.prompt_id] = {
                    "prompt": self._queue_item(job),
                    "outputs": {},
                    "meta": _meta({}),
                    "status": {
                        "status_str": "error",
                        "completed": False,
                        "messages": [
                            [
                                "execution_error",
                                {
                                    "prompt_id": job.prompt_id,
                                    "node_id": None,
                                    "node_type": "",
                                    "exception_message": str(e),
                                },
                            ]
                        ],
                    },
                }
            finally:
                if self.running is job:
                    self.running = None

    async def _drop_and_wait(self, client_id: str) -> None:
        """Close the client's sockets, then go on once it has connected again (bounded), so
        that every drop of a drill falls within the job."""
        seen = self.sockets.opened[client_id]
        await self.sockets.close(client_id)
        await self.sockets.wait_for_new_connection(client_id, seen)

    async def _run(self, job: QueuedJob) -> None:
        c, pid = job.client_id, job.prompt_id
        messages: list[list[Any]] = []

        async def say(type_: str, data: dict[str, Any]) -> None:
            data = {**data, "prompt_id": pid}
            if type_ in (
                "execution_start",
                "execution_cached",
                "execution_success",
                "execution_error",
                "execution_interrupted",
            ):
                messages.append([type_, data])
            await self.send(c, type_, data)

        await say("execution_start", {"timestamp": _now_ms()})
        await say("execution_cached", {"nodes": [], "timestamp": _now_ms()})
        if self.faults.malformed_frames:
            await self.sockets.send_str(c, "{not json")
            await self.sockets.send_str(
                c, json.dumps({"type": "mystery", "data": {"prompt_id": pid}})
            )
            await self.sockets.send_str(c, json.dumps(["a", "list"]))
            await self.sockets.send_bytes(c, b"\x00\x00\x00\x04\xff\xff\xff\xff")
            await self.sockets.send_bytes(c, b"\x00\x01")
        # Like ComfyUI: every sampler reports its steps (an upscale's tiles: one per tile).
        samplers = {
            i for i, n in job.graph.items() if n["class_type"] in ("KSampler", "KSamplerAdvanced")
        }
        sent = 0
        # Like ComfyUI (comfy_execution/progress.py): every start, step and end of any node
        # sends the state of every node started so far, so a graph of n nodes costs about n²
        # entries on the socket (what a large tiled upscale must avoid).
        states: dict[str, dict[str, Any]] = {}

        async def node_state(node_id: str, value: float, maximum: float, state: str) -> None:
            states[node_id] = {
                "value": value, "max": maximum, "state": state, "node_id": node_id,
                "prompt_id": pid, "display_node_id": node_id, "parent_node_id": None,
                "real_node_id": node_id,
            }  # fmt: skip
            await say("progress_state", {"nodes": dict(states)})

        previous: str | None = None
        for node_id in job.graph:
            self.last_node = node_id
            if previous is not None:
                await node_state(previous, 1.0, 1.0, "finished")
            previous = node_id
            await say("executing", {"node": node_id, "display_node": node_id})
            await node_state(node_id, 0.0, 1.0, "running")
            if node_id in samplers:
                steps = self.faults.steps_override or job.graph[node_id]["inputs"].get("steps", 1)
                for step in range(1, steps + 1):
                    if pid in self.finish_now:
                        break
                    if pid in self.interrupt:
                        self.interrupt.discard(pid)
                        await say(
                            "execution_interrupted",
                            {"node_id": node_id, "node_type": "KSampler", "executed": [],
                             "timestamp": _now_ms()},
                        )  # fmt: skip
                        self.history[pid] = {
                            "prompt": self._queue_item(job),
                            "outputs": {},
                            "meta": _meta({}),
                            "status": {
                                "status_str": "error",
                                "completed": False,
                                "messages": messages,
                            },
                        }
                        await self._ended(job)
                        return
                    await asyncio.sleep(self.faults.step_delay)
                    await say("progress", {"value": step, "max": steps, "node": node_id})
                    await node_state(node_id, float(step), float(steps), "running")
                    if job.previews:
                        await self.send_binary(c, pid, node_id, _preview_jpeg(step))
                    sent += 1
                    if self.faults.drop_chance and self.rng.random() < self.faults.drop_chance:
                        await self.sockets.close(c)
                    if (
                        self.faults.drop_ws_after_steps is not None
                        and sent == self.faults.drop_ws_after_steps
                    ):
                        await self.sockets.close(c)
                    if step in self.faults.drop_ws_at_steps:
                        await self._drop_and_wait(c)
        if previous is not None:
            await node_state(previous, 1.0, 1.0, "finished")
        try:
            results = await asyncio.get_running_loop().run_in_executor(
                None, execute, job.graph, self.inputs.__getitem__
            )
        except ExecutionError as e:
            await say(
                "execution_error",
                {
                    "node_id": e.node_id,
                    "node_type": e.node_type,
                    "executed": [],
                    "exception_message": str(e),
                    "exception_type": "RuntimeError",
                    "traceback": [],
                    "current_inputs": {},
                    "current_outputs": [],
                    "timestamp": _now_ms(),
                },
            )
            self.history[pid] = {
                "prompt": self._queue_item(job),
                "outputs": {},
                "meta": _meta({}),
                "status": {"status_str": "error", "completed": False, "messages": messages},
            }
            await self._ended(job)
            return
        outputs = {}
        for node_id, images in results.items():
            if job.graph[node_id]["class_type"] in STREAMING_NODES:
                # Like ComfyUI's SaveImageWebsocket: a progress update carrying each image,
                # no "executed" message, nothing saved, nothing in the history's outputs.
                await say("executing", {"node": node_id, "display_node": node_id})
                if self.faults.drop_ws_instead_of_stream > 0:
                    self.faults.drop_ws_instead_of_stream -= 1
                    await self.sockets.close(c)  # the frames are gone with the socket
                    continue
                if self.faults.skip_streams > 0:
                    self.faults.skip_streams -= 1
                    continue
                for i, data in enumerate(images):
                    await say("progress", {"value": i, "max": len(images), "node": node_id})
                    await self.send_binary(c, pid, node_id, data, png=True)
                continue
            refs = []
            kind = "temp" if job.graph[node_id]["class_type"] == "PreviewImage" else "output"
            for i, data in enumerate(images):
                name = f"ai_diffusion_{pid[:8]}_{node_id}_{i:03d}.png"
                self.outputs[(kind, "", name)] = data
                refs.append({"filename": name, "subfolder": "", "type": kind})
            outputs[node_id] = {"images": refs}
            await say(
                "executed", {"node": node_id, "display_node": node_id, "output": {"images": refs}}
            )
        await say("execution_success", {"timestamp": _now_ms()})
        self.history[pid] = {
            "prompt": self._queue_item(job),
            "outputs": outputs,
            "meta": _meta(outputs),
            "status": {"status_str": "success", "completed": True, "messages": messages},
        }
        await self._ended(job)

    async def _ended(self, job: QueuedJob) -> None:
        """After success, error or interrupt alike: ``status`` to everyone, then the job's
        ``executing`` with node null (always last)."""
        if self.running is job:
            self.running = None
        self.last_node = None
        await self.broadcast_status()
        await self.send(job.client_id, "executing", {"node": None, "prompt_id": job.prompt_id})


def _meta(outputs: dict[str, Any]) -> dict[str, Any]:
    """A history entry's ``meta``: which node each output came from (subgraphs aside)."""
    return {node: {"node_id": node, "display_node": node, "parent_node": None,
                   "real_node_id": node} for node in outputs}  # fmt: skip


def _output_nodes(graph: dict[str, Any]) -> list[str]:
    return [i for i, node in graph.items() if node.get("class_type") in OUTPUT_NODES]


def _queued_job(job: QueuedJob, status: str) -> dict[str, Any]:
    return {"id": job.prompt_id, "status": status, "priority": job.number,
            "create_time": job.create_time, "outputs_count": 0,
            "previewable_outputs_count": 0}  # fmt: skip


def _history_job(prompt_id: str, entry: dict[str, Any], full: bool) -> dict[str, Any]:
    """A history entry as the jobs API shows it (normalize_history_item)."""
    number, _, graph, extra, _ = entry["prompt"]
    status = entry.get("status") or {}
    times = {m[0]: m[1].get("timestamp") for m in status.get("messages", [])}
    error = next((m[1] for m in status.get("messages", []) if m[0] == "execution_error"), None)
    if status.get("status_str") == "success":
        state = "completed"
    else:
        state = "cancelled" if "execution_interrupted" in times else "failed"
    images = [
        {**image, "nodeId": node, "mediaType": "images"}
        for node, output in entry.get("outputs", {}).items()
        for image in output.get("images", [])
    ]
    end = next((times[k] for k in ("execution_success", "execution_error",
                                   "execution_interrupted") if k in times), None)  # fmt: skip
    job = {"id": prompt_id, "status": state, "priority": number,
           "create_time": extra.get("create_time"),
           "execution_start_time": times.get("execution_start"), "execution_end_time": end,
           "execution_error": error, "outputs_count": len(images),
           "previewable_outputs_count": len(images),
           "preview_output": next((i for i in images if i["type"] == "output"),
                                  images[0] if images else None)}  # fmt: skip
    job = {k: v for k, v in job.items() if v is not None}
    if full:
        job["outputs"] = entry.get("outputs", {})
        job["execution_status"] = status
        job["workflow"] = {"prompt": graph, "extra_data": extra}
    return job


def _canonical_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _now_ms() -> int:
    return int(time.time() * 1000)


def _preview_jpeg(step: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (step * 20 % 256, 80, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


async def _serve(fake: FakeComfy, host: str, port: int) -> None:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    actual = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"fake ComfyUI on http://{host}:{actual}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake ComfyUI server for tests and benchmarks")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8188, help="0 picks a free port")
    parser.add_argument("--version", default=DEFAULT_VERSION, choices=VERSIONS,
                        help="the recorded ComfyUI to behave as")  # fmt: skip
    parser.add_argument("--extra-models", type=int, default=0, help="add N fake checkpoints/LoRAs")
    parser.add_argument("--step-delay", type=float, default=0.0, help="seconds per sampler step")
    parser.add_argument("--preview-method", default="none", help="server default (job overrides)")
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument("--basic", default=None, help="require basic auth USER:PASSWORD")
    parser.add_argument("--drop-ws-after-steps", type=int, default=None)
    parser.add_argument("--models", type=Path, default=None, metavar="DIR",
                        help="also list the model files under DIR/<folder>, re-read per request")  # fmt: skip
    parser.add_argument(
        "--family-models", action="store_true",
        help="also list the other families' files (tests/family_fixtures.py): listing only, "
        "jobs using them fail in their loader as placeholders do on a real server",
    )  # fmt: skip
    args = parser.parse_args()
    fake = FakeComfy.create(args.extra_models, version=args.version)
    if args.family_models:
        from tests.family_fixtures import add_family_models

        fake.object_info = add_family_models(fake.object_info)
    fake.preview_method = args.preview_method
    fake.faults.step_delay = args.step_delay
    fake.faults.token = args.token
    fake.faults.basic = args.basic
    fake.faults.drop_ws_after_steps = args.drop_ws_after_steps
    fake.models_dir = args.models
    try:
        asyncio.run(_serve(fake, args.host, args.port))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
