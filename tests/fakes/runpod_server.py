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
        "dataCenters": [
            {"id": "EU-RO-1", "name": "EU Romania 1", "availability": "HIGH"},
            {"id": "US-KS-2", "name": "US Kansas 2", "availability": "MEDIUM"},
        ],
    },
    {
        "id": "NVIDIA RTX A5000",
        "name": "RTX A5000",
        "memory": 24,
        "price": {"secure": 0.27, "community": 0.16},
        "availability": "MEDIUM",
        "cudaVersions": [{"version": "13.0", "available": True}],
        "dataCenters": [{"id": "EU-RO-1", "name": "EU Romania 1", "availability": "MEDIUM"}],
    },
    {
        "id": "NVIDIA GeForce RTX 3090",
        "name": "RTX 3090",
        "memory": 24,
        "price": {"secure": 0.43, "community": 0.22},
        "availability": "LOW",
        "cudaVersions": [{"version": "12.8", "available": True}],
        "dataCenters": [{"id": "US-KS-2", "name": "US Kansas 2", "availability": "LOW"}],
    },
]
# GET /v2/catalog/datacenters (the fields the schema requires); US-CA-1 keeps no volumes.
DATA_CENTERS = [
    {"id": "EU-RO-1", "name": "EU Romania 1", "region": "EUROPE", "globalNetwork": True,
     "networkVolumeTypes": ["STANDARD", "HIGH_PERFORMANCE"], "compliance": ["GDPR"]},
    {"id": "US-KS-2", "name": "US Kansas 2", "region": "NORTH_AMERICA", "globalNetwork": True,
     "networkVolumeTypes": ["STANDARD"], "compliance": ["SOC_2_TYPE_2"]},
    {"id": "US-CA-1", "name": "US California 1", "region": "NORTH_AMERICA", "globalNetwork": False,
     "networkVolumeTypes": [], "compliance": []},
]  # fmt: skip
VOLUME_TYPES = ("STANDARD", "HIGH_PERFORMANCE")


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
    # Network volumes (``/v2/network-volumes``, the v2 OpenAPI's NetworkVolume): id → its view.
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
        r.add_get("/v2/network-volumes", self.list_volumes)
        r.add_post("/v2/network-volumes", self.create_volume)
        r.add_get("/v2/catalog/datacenters", self.data_centers)
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
            "globalNetworking",
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
        volume_id, refused = self._network_mount(body)
        if refused is not None:
            return refused
        price = next((g["price"]["secure"] for g in GPUS if g["id"] == gpu), 0.5)
        pod = {
            "id": uuid.uuid4().hex[:10], "name": body["name"], "image": body["image"], "env": body.get("env", {}),
            "ports": body.get("ports", []), "status": "PROVISIONING", "actions": ACTIONS["PROVISIONING"],
            "gpu": {"id": gpu, "count": 1}, "cost": price, "runtime": {}, "price": price,
        }  # fmt: skip
        if "mounts" in body:
            pod["mounts"] = body["mounts"]
        centers = body.get("dataCenterIds") or []
        pod["dataCenterId"] = (
            self.volumes[volume_id]["dataCenter"] if volume_id else (centers or ["EU-RO-1"])[0]
        )
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

    def _network_mount(self, body: dict[str, Any]) -> tuple[str | None, web.Response | None]:
        """``mounts`` as the v2 schema has it: one of ``persistent`` {size, path} or ``network``
        [{volumeId, path}] (at most one item); a network volume must be in the pod's data
        centers when they are given."""
        mounts = body.get("mounts")
        if mounts is None:
            return None, None

        def invalid(error: str) -> tuple[None, web.Response]:
            return None, problem(
                422, "Unprocessable Entity", "Request validation failed.", errors=[error]
            )

        if not isinstance(mounts, dict) or set(mounts) - {"persistent", "network"}:
            return invalid("$.mounts: an object with persistent or network")
        if "persistent" in mounts and "network" in mounts:
            return None, problem(
                400, "Bad Request", "mounts: persistent and network exclude each other"
            )
        if "persistent" in mounts:
            p = mounts["persistent"]
            if (
                not isinstance(p, dict)
                or set(p) != {"size", "path"}
                or not isinstance(p["size"], int)
                or p["size"] < 10
            ):
                return invalid("$.mounts.persistent: {size >= 10, path} required")
            return None, None
        network = mounts["network"]
        if not isinstance(network, list) or len(network) != 1:
            return invalid("$.mounts.network: exactly one item")
        item = network[0]
        if (
            not isinstance(item, dict)
            or set(item) != {"volumeId", "path"}
            or not all(isinstance(v, str) for v in item.values())
        ):
            return invalid("$.mounts.network[0]: {volumeId, path} required")
        volume = self.volumes.get(item["volumeId"])
        if volume is None:
            return None, problem(400, "Bad Request", f"network volume {item['volumeId']} not found")
        centers = body.get("dataCenterIds")
        if centers and volume["dataCenter"] not in centers:
            return None, problem(
                400, "Bad Request", "the network volume is not in the requested data centers"
            )
        return item["volumeId"], None  # fmt: skip

    async def data_centers(self, request: web.Request) -> web.Response:
        return web.json_response({"dataCenters": DATA_CENTERS})

    async def list_volumes(self, request: web.Request) -> web.Response:
        return web.json_response({"networkVolumes": list(self.volumes.values())})

    async def create_volume(self, request: web.Request) -> web.Response:
        """CreateNetworkVolumeRequest: name, size (10 to 4096 GB), dataCenter; type optional;
        nothing else (additionalProperties: false)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "the body is not a JSON object")
        unknown = set(body) - {"name", "size", "dataCenter", "type"}
        errors = [f"$: additional properties {sorted(unknown)} not allowed"] if unknown else []
        for key, kind in (("name", str), ("size", int), ("dataCenter", str)):
            value = body.get(key)
            if not isinstance(value, kind) or isinstance(value, bool) or value == "":
                errors.append(f"$.{key}: required, a {kind.__name__}")
        if not errors and not 10 <= body["size"] <= 4096:
            errors.append("$.size: between 10 and 4096")
        if "type" in body and body["type"] not in VOLUME_TYPES:
            errors.append(f"$.type: one of {', '.join(VOLUME_TYPES)}")
        if errors:
            return problem(422, "Unprocessable Entity", "Request validation failed.", errors=errors)
        center = next((c for c in DATA_CENTERS if c["id"] == body["dataCenter"]), None)
        if center is None or not center["networkVolumeTypes"]:
            return problem(
                400, "Bad Request", f"data center {body['dataCenter']} has no network volumes"
            )
        volume = {"id": uuid.uuid4().hex[:10], "name": body["name"], "size": body["size"],
                  "dataCenter": body["dataCenter"],
                  "type": body.get("type", center["networkVolumeTypes"][0])}  # fmt: skip
        self.volumes[volume["id"]] = volume
        return web.json_response(volume, status=201)
