"""A fake RunPod REST v2 API (https://docs.runpod.io/api-reference), on aiohttp, and its
HTTP proxy: ``{proxy}/{pod_id}/{port}/…`` stands for ``https://{pod_id}-{port}.proxy.runpod.net/…``
and passes HTTP and websockets through to the fake ComfyUI at ``comfy_url`` while the pod runs
and declares ``{port}/http``.

Running time comes from ``clock`` (seconds, wall time), so tests can let hours pass."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.passthrough import bad_gateway, forward

PROBLEM = "application/problem+json"
NEXT = {"PROVISIONING": "STARTING", "STARTING": "RUNNING"}
ACTIONS = {
    "RUNNING": ["stop", "restart", "terminate"],
    "EXITED": ["start", "terminate"],
    "ERROR": ["start", "terminate"],
    "PROVISIONING": ["stop", "terminate"],
    "STARTING": ["stop", "terminate"],
}
GPUS = [
    {
        "id": "NVIDIA GeForce RTX 4090",
        "name": "RTX 4090",
        "memory": 24,
        "price": {"secure": 0.69, "community": 0.34},
        "availability": "HIGH",
        "cudaVersions": [
            {"version": "12.8", "available": True},
            {"version": "13.0", "available": True},
        ],
    },
    {
        "id": "NVIDIA RTX A5000",
        "name": "RTX A5000",
        "memory": 24,
        "price": {"secure": 0.27, "community": 0.16},
        "availability": "MEDIUM",
        "cudaVersions": [{"version": "13.0", "available": True}],
    },
    {
        "id": "NVIDIA GeForce RTX 3090",
        "name": "RTX 3090",
        "memory": 24,
        "price": {"secure": 0.43, "community": 0.22},
        "availability": "LOW",
        "cudaVersions": [{"version": "12.8", "available": True}],
    },
]


def problem(status: int, title: str, detail: str, **extra: Any) -> web.Response:
    return web.json_response(
        {"title": title, "status": status, "detail": detail, **extra},
        status=status,
        content_type=PROBLEM,
    )


@dataclass
class FakeRunPod:
    api_key: str = "rp-test-key-0123456789"
    pods: dict[str, dict[str, Any]] = field(default_factory=dict)
    no_capacity: set[str] = field(default_factory=set)
    status_once: list[int] = field(default_factory=list)  # answer the next requests with these
    retry_after: str = "1"
    refuse_resume: bool = False
    fail_with_error: bool = False  # pods go to ERROR instead of RUNNING
    requests: list[tuple[str, str]] = field(default_factory=list)
    comfy_url: str = ""  # where the proxy sends every running pod's HTTP port
    proxied: list[str] = field(default_factory=list)  # "pod_id:port/path" passed through
    clock: Callable[[], float] = time.time
    # A test's hook, called with each new pod (its "env" as the create body gave it): e.g. to
    # start what the pod would run and point ``comfy_url`` at it.
    on_create: Callable[[dict[str, Any]], None] | None = None
    # Network volumes (``/v2/networkvolumes``, as the pods' paths): id → its view.
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        r = app.router
        r.add_get("/v2/catalog/gpus", self.gpus)
        r.add_post("/v2/pods", self.create)
        r.add_get("/v2/pods", self.list)
        r.add_get("/v2/pods/{id}", self.get)
        r.add_post("/v2/pods/{id}/action", self.action)
        r.add_delete("/v2/pods/{id}", self.delete)
        r.add_get("/v2/networkvolumes", self.list_volumes)
        r.add_post("/v2/networkvolumes", self.create_volume)
        return app

    def proxy_app(self) -> web.Application:
        """The proxy; serve it and pass ``proxy_template(its url)`` to ``RunPodProvider``."""
        app = web.Application()
        app.router.add_route("*", r"/{pod_id}/{port:\d+}{tail:(/.*)?}", self.proxy)
        return app

    @staticmethod
    def proxy_template(proxy_url: str) -> str:
        return proxy_url.rstrip("/") + "/{pod_id}/{port}"

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        pod = self.pods.get(request.match_info["pod_id"])
        if pod is None:
            return web.Response(status=404, text="404 page not found")
        port = request.match_info["port"]
        if pod["status"] != "RUNNING" or f"{port}/http" not in pod["ports"] or not self.comfy_url:
            return bad_gateway()  # RunPod: the service is not up (yet)
        tail = request.match_info["tail"] or "/"
        self.proxied.append(f"{pod['id']}:{port}{tail}")
        query = f"?{request.query_string}" if request.query_string else ""
        return await forward(request, self.comfy_url.rstrip("/") + tail + query)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return problem(401, "Unauthorized", "missing bearer token")
        if self.status_once:
            status = self.status_once.pop(0)
            if status == 429:
                resp = problem(
                    429, "Too Many Requests", "rate limit exceeded for the minute window"
                )
                resp.headers["Retry-After"] = self.retry_after
                return resp
            if status == 402:
                return problem(402, "Payment Required", "insufficient balance")
            return problem(status, "Error", "upstream failure")
        return await handler(request)

    async def gpus(self, request: web.Request) -> web.Response:
        # minCudaVersion scopes availability: a GPU type with no host that new is NONE.
        low = request.query.get("minCudaVersion")
        gpus = [dict(g) for g in GPUS]
        if low:
            for g in gpus:
                versions = [float(c["version"]) for c in g["cudaVersions"] if c["available"]]
                if not any(v >= float(low) for v in versions):
                    g["availability"] = "NONE"
        return web.json_response({"gpus": gpus})

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        allowed = {
            "name",
            "image",
            "gpu",
            "cloud",
            "dataCenterIds",
            "disk",
            "mounts",
            "ports",
            "env",
            "args",
            "startSsh",
            "startJupyter",
            "templateId",
            "networkVolumeId",
            "volumeMountPath",
        }
        unknown = set(body) - allowed
        if unknown or "name" not in body or "image" not in body:
            return problem(
                422,
                "Unprocessable Entity",
                "Request validation failed.",
                errors=[
                    f"$: additional properties {sorted(unknown)} not allowed"
                    if unknown
                    else "$: missing name or image"
                ],
            )
        gpu = body.get("gpu", {}).get("id")
        if gpu in self.no_capacity:
            return problem(
                400,
                "Bad Request",
                "There are no longer any instances available with the requested specifications.",
            )
        volume_id = body.get("networkVolumeId")
        if volume_id is not None:
            volume = self.volumes.get(volume_id)
            if volume is None:
                return problem(400, "Bad Request", f"network volume {volume_id} not found")
            centers = body.get("dataCenterIds")
            if centers is not None and volume["dataCenterId"] not in centers:
                return problem(
                    400, "Bad Request", "the network volume is not in the requested data centers"
                )
            if "mounts" in body:
                return problem(
                    400, "Bad Request", "a pod with a network volume takes no persistent mount"
                )
        price = next((g["price"]["secure"] for g in GPUS if g["id"] == gpu), 0.5)
        pod = {
            "id": uuid.uuid4().hex[:10], "name": body["name"], "image": body["image"], "env": body.get("env", {}),
            "ports": body.get("ports", []), "status": "PROVISIONING", "actions": ACTIONS["PROVISIONING"],
            "gpu": {"id": gpu, "count": 1}, "cost": price, "runtime": {}, "price": price,
        }  # fmt: skip
        if volume_id is not None:
            pod["networkVolumeId"] = volume_id
        self.pods[pod["id"]] = pod
        if self.on_create is not None:
            self.on_create(pod)
        return web.json_response(self._view(pod), status=201)

    def _advance(self, pod: dict[str, Any]) -> None:
        status = pod["status"]
        if status in NEXT:
            pod["status"] = (
                "ERROR" if self.fail_with_error and NEXT[status] == "RUNNING" else NEXT[status]
            )
        pod["actions"] = ACTIONS.get(pod["status"], [])
        pod["cost"] = 0.0 if pod["status"] == "EXITED" else pod["price"]
        if pod["status"] == "RUNNING":
            pod.setdefault("running_since", self.clock())
            uptime = int(self.clock() - pod["running_since"])
            pod["runtime"] = {"uptime": uptime, "ports": []}
        else:
            pod.pop("running_since", None)
            pod["runtime"] = {}

    def _view(self, pod: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in pod.items() if k not in ("price", "running_since")}

    async def list(self, request: web.Request) -> web.Response:
        return web.json_response({"pods": [self._view(p) for p in self.pods.values()]})

    async def get(self, request: web.Request) -> web.Response:
        pod = self.pods.get(request.match_info["id"])
        if pod is None:
            return problem(404, "Not Found", "resource not found")
        self._advance(pod)
        return web.json_response(self._view(pod))

    async def action(self, request: web.Request) -> web.Response:
        pod = self.pods.get(request.match_info["id"])
        if pod is None:
            return problem(404, "Not Found", "resource not found")
        action = (await request.json()).get("action")
        if action not in pod["actions"]:
            return problem(
                409, "Conflict", f"action {action} is not valid for a pod in status {pod['status']}"
            )
        if action == "terminate":
            del self.pods[pod["id"]]
            return web.Response(status=204)
        if action == "stop":
            pod["status"] = "EXITED"
        elif action == "start":
            if self.refuse_resume:
                return problem(
                    400,
                    "Bad Request",
                    "There are not enough free GPUs on the host machine to start this pod.",
                )
            pod["status"] = "STARTING"
        pod["actions"] = ACTIONS[pod["status"]]
        pod["cost"] = 0.0 if pod["status"] == "EXITED" else pod["price"]
        if pod["status"] != "RUNNING":
            pod.pop("running_since", None)
            pod["runtime"] = {}
        return web.json_response(self._view(pod))

    async def delete(self, request: web.Request) -> web.Response:
        if self.pods.pop(request.match_info["id"], None) is None:
            return problem(404, "Not Found", "resource not found")
        return web.Response(status=204)

    async def list_volumes(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.volumes.values()))  # RunPod answers a bare list

    async def create_volume(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "the body is not a JSON object")
        unknown = set(body) - {"name", "size", "dataCenterId"}
        errors = [f"$: additional properties {sorted(unknown)} not allowed"] if unknown else []
        for key, kind in (("name", str), ("size", int), ("dataCenterId", str)):
            if not isinstance(body.get(key), kind) or isinstance(body.get(key), bool):
                errors.append(f"$.{key}: required, a {kind.__name__}")
        if not errors and not 1 <= body["size"] <= 4000:
            errors.append("$.size: between 1 and 4000")
        if errors:
            return problem(422, "Unprocessable Entity", "Request validation failed.", errors=errors)
        volume = {"id": uuid.uuid4().hex[:10], "name": body["name"], "size": body["size"],
                  "dataCenterId": body["dataCenterId"]}  # fmt: skip
        self.volumes[volume["id"]] = volume
        return web.json_response(volume, status=201)
