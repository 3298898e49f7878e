"""A fake SaladCloud container group: the Container Gateway in front of several replicas of
SaladTechnologies/comfyui-api (https://github.com/SaladTechnologies/comfyui-api; the gateway:
https://docs.salad.com), on aiohttp.

Strict where the real ones are: ``Salad-Api-Key`` when the gateway has auth, 503 while no
replica is ready, ``/ready`` ``/health`` ``/models`` ``/prompt`` ``/interrupt`` with their
bodies, inputs as base64 in ``inputs.image`` (a plain file name or a data: URI fails), the
``filename_prefix`` rule and ``<id>_`` prefixes, ComfyUI's validation, results as base64.
Graphs run on the fake executor, so results are real pixels. Replicas are served round-robin.

Faults (each for the next job): ``vanish`` — the replica disappears mid-job (the connection is
cut; ``vanish_status`` makes the gateway answer 502 instead); ``cut`` — the job outlasts the
gateway's 100 s and the gateway answers 504; ``hold`` — the job runs until interrupted. Assumed, not documented: those two statuses.
"""

from __future__ import annotations

import asyncio
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

PNG = b"\x89PNG\r\n\x1a\n"
REPLICA: web.RequestKey[Replica] = web.RequestKey("replica", "Replica")
MODEL_FOLDERS = {
    "checkpoints": ("CheckpointLoaderSimple", "ckpt_name"),
    "loras": ("LoraLoader", "lora_name"),
    "vae": ("VAELoader", "vae_name"),
    "controlnet": ("ControlNetLoader", "control_net_name"),
    "upscale_models": ("UpscaleModelLoader", "model_name"),
}


@dataclass
class Replica:
    name: str
    comfy: FakeComfy = field(default_factory=FakeComfy.create)
    ready: bool = True
    ran: list[str] = field(default_factory=list)  # job ids it finished


@dataclass
class FakeSaladGroup:
    replicas: list[Replica] = field(default_factory=lambda: [Replica("r1"), Replica("r2")])
    api_key: str | None = "salad-key-0123456789abcdef"  # None: gateway auth off
    faults: list[str] = field(default_factory=list)  # "vanish", "vanish_status", "cut"
    interrupted: list[str] = field(default_factory=list)
    posted: list[dict[str, Any]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list, repr=False)
    holding: dict[str, asyncio.Event] = field(default_factory=dict)  # "hold": until interrupted
    downloads: list[tuple[str, str, str, str]] = field(default_factory=list)  # replica, url, …
    _next: int = 0

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.gateway], client_max_size=200 * 2**20)
        r = app.router
        r.add_get("/health", self.health)
        r.add_get("/ready", self.ready)
        r.add_get("/models", self.models)
        r.add_post("/models", self.download)
        r.add_post("/prompt", self.prompt)
        r.add_post("/interrupt", self.interrupt)
        return app

    def _pick(self) -> Replica | None:
        live = [r for r in self.replicas if r.ready]
        if not live:
            return None
        self._next += 1
        return live[self._next % len(live)]

    @web.middleware
    async def gateway(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.headers_seen.append(dict(request.headers))
        if self.api_key is not None and request.headers.get("Salad-Api-Key") != self.api_key:
            return web.Response(status=401, text="Unauthorized")
        replica = self._pick()
        if replica is None:
            return web.Response(status=503, text="no healthy upstream")
        request[REPLICA] = replica
        return await handler(request)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "1.18.0", "status": "healthy"})

    async def ready(self, request: web.Request) -> web.Response:
        return web.json_response({"version": "1.18.0", "status": "ready"})

    async def models(self, request: web.Request) -> web.Response:
        info = request[REPLICA].comfy.object_info
        return web.json_response(
            {
                folder: combo_options(info[node]["input"]["required"][name]) or []
                for folder, (node, name) in MODEL_FOLDERS.items()
            }
        )

    async def download(self, request: web.Request) -> web.Response:
        """comfyui-api's ``POST /models {url, type, filename?}``: the picked replica downloads
        the file into its own models folder (the others do not get it). A ``cut`` fault is
        the gateway giving up after 100 s (504)."""
        body = await request.json()
        url, folder = body.get("url"), body.get("type")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return web.json_response(
                {"error": "body/url must be a URL", "location": "url"}, status=400
            )
        if folder not in MODEL_FOLDERS:
            return web.json_response({"error": f"invalid model type {folder}"}, status=400)
        if self.faults and self.faults[0] == "cut":
            self.faults.pop(0)
            return web.Response(status=504, text="upstream request timeout")
        name = str(body.get("filename") or url.split("?")[0].rsplit("/", 1)[-1])
        node, field_name = MODEL_FOLDERS[folder]
        replica: Replica = request[REPLICA]
        spec = replica.comfy.object_info[node]["input"]["required"][field_name]
        options = combo_options(spec)
        if options is not None and name not in options:
            options.append(name)
        self.downloads.append((replica.name, url, folder, name))
        return web.json_response(
            {"status": "success", "path": f"/opt/ComfyUI/models/{folder}/{name}"}
        )

    async def interrupt(self, request: web.Request) -> web.Response:
        body = await request.json()
        job_id = str(body.get("id"))
        self.interrupted.append(job_id)
        if job_id in self.holding:
            self.holding[job_id].set()
            return web.json_response({"id": job_id, "interrupted": "success"})
        return web.json_response({"id": job_id, "interrupted": "failed"}, status=404)

    async def prompt(self, request: web.Request) -> web.StreamResponse:
        replica: Replica = request[REPLICA]
        body = json.loads(await request.read())
        self.posted.append(body)
        graph = json.loads(json.dumps(body.get("prompt"))) if isinstance(body, dict) else None
        if not isinstance(graph, dict):
            return web.json_response(
                {"error": "body/prompt must be object", "location": "prompt"}, status=400
            )
        job_id = str(body.get("id") or uuid.uuid4())
        fault = self.faults.pop(0) if self.faults else ""
        if fault in ("vanish", "vanish_status"):
            replica.ready = False  # interrupted by its host: gone
            if fault == "vanish_status":
                return web.Response(status=502, text="upstream connect error")
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if fault == "hold":
            self.holding[job_id] = asyncio.Event()
            await self.holding[job_id].wait()
            return web.json_response(
                {"statusCode": 500, "error": "Internal Server Error", "message": "Prompt execution failed"},
                status=500,
            )  # fmt: skip
        if fault == "cut":
            return web.Response(status=504, text="upstream request timeout")
        if not any(
            isinstance(n.get("inputs", {}).get("filename_prefix"), str) for n in graph.values()
        ):
            return web.json_response(
                {"error": 'Prompt must contain a node with a "filename_prefix" input, such as "SaveImage"', "location": "prompt"},
                status=400,
            )  # fmt: skip
        inputs: dict[str, bytes] = {}
        for node_id, node in graph.items():
            inp = node.get("inputs", {})
            image = inp.get("image")
            if not isinstance(image, str):
                continue
            try:
                data = base64.b64decode(image, validate=True)
            except (binascii.Error, ValueError):
                data = b""
            if not data.startswith(PNG):
                return web.json_response(
                    {"error": f"Failed to download image for node {node_id}: not a valid image", "location": f"prompt.{node_id}.inputs.image"},
                    status=400,
                )  # fmt: skip
            name = f"{uuid.uuid4()}.png"
            inputs[name] = data
            inp["image"] = name
        for node in graph.values():
            inp = node.get("inputs", {})
            if isinstance(inp.get("filename_prefix"), str):
                inp["filename_prefix"] = f"{job_id}_{inp['filename_prefix']}"
        rejected = validate(graph, replica.comfy.object_info, inputs)
        if rejected:
            return web.json_response(
                {"statusCode": 500, "error": "Internal Server Error", "message": f"Failed to queue prompt: {json.dumps(rejected)}"},
                status=500,
            )  # fmt: skip
        try:
            outputs = execute(graph, inputs.__getitem__)
        except ExecutionError:
            return web.json_response(
                {"statusCode": 500, "error": "Internal Server Error", "message": "Prompt execution failed"},
                status=500,
            )  # fmt: skip
        images = [
            data
            for node_id, out in outputs.items()
            if graph[node_id]["class_type"] == "SaveImage"
            for data in out
        ]
        replica.ran.append(job_id)
        return web.json_response(
            {
                **body,
                "id": job_id,
                "images": [base64.b64encode(d).decode() for d in images],
                "filenames": [f"{job_id}_krita_{i + 1:05d}_.png" for i in range(len(images))],
                "stats": {"total_time": 1234},
            }
        )
