"""A fake of SaladCloud's public API for container groups (https://docs.salad.com/reference,
its OpenAPI description): ``Salad-Api-Key``, ProblemDetails errors,
organization/project scoping, GPU classes, create/list/get/start/stop/delete and instances.
Groups move on one state per read (no clocks): deploying → running with a ready instance."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PROTOTYPE_REQUIRED = {"autostart_policy", "container", "name", "replicas", "restart_policy"}
GPU_CLASSES = [
    {"id": "ed563892-aacd-40f5-80b7-90c9be6c759b", "name": "RTX 4090 (24 GB)",
     "prices": [{"priority": "high", "price": "0.30"}], "is_high_demand": False},
    {"id": "a5db5c50-cbcb-4596-ae80-6a0c8090d80f", "name": "RTX 3090 (24 GB)",
     "prices": [{"priority": "high", "price": "0.18"}], "is_high_demand": False},
]  # fmt: skip


def problem(status: int, title: str, detail: str = "") -> web.Response:
    return web.json_response(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


@dataclass
class FakeSaladApi:
    api_key: str = "salad-api-key-0123456789"
    organization: str = "my-studio"
    project: str = "krita"
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        r = app.router
        r.add_get("/organizations/{org}/gpu-classes", self.gpu_classes)
        p = "/organizations/{org}/projects/{project}/containers"
        r.add_get(p, self.list)
        r.add_post(p, self.create)
        r.add_get(p + "/{name}", self.get)
        r.add_delete(p + "/{name}", self.delete)
        r.add_post(p + "/{name}/start", self.start)
        r.add_post(p + "/{name}/stop", self.stop)
        r.add_get(p + "/{name}/instances", self.instances)
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Salad-Api-Key") != self.api_key:
            return problem(401, "Unauthorized")
        if request.match_info.get("org") != self.organization:
            return problem(404, "Not Found", "organization not found")
        if "project" in request.match_info and request.match_info["project"] != self.project:
            return problem(404, "Not Found", "project not found")
        return await handler(request)

    async def gpu_classes(self, request: web.Request) -> web.Response:
        return web.json_response({"items": GPU_CLASSES})

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        missing = PROTOTYPE_REQUIRED - set(body)
        if missing:
            return problem(400, "Bad Request", f"missing: {sorted(missing)}")
        name = str(body["name"])
        if not name[:1].isalpha() or not name.replace("-", "").isalnum() or name != name.lower():
            return problem(400, "Bad Request", "name must match [a-z][a-z0-9-]*")
        if name in self.groups:
            return problem(409, "Conflict", "a container group with this name exists")
        gpus = body["container"].get("resources", {}).get("gpu_classes", [])
        if not gpus or set(gpus) - {g["id"] for g in GPU_CLASSES}:
            return problem(400, "Bad Request", "unknown gpu class")
        group = {
            **body,
            "id": str(uuid.uuid4()),
            "current_state": {"status": "deploying" if body["autostart_policy"] else "stopped",
                              "instance_status_counts": {"running_count": 0}},
            "networking": {**body.get("networking", {}), "dns": f"{name}-x7k2.salad.cloud"},
        }  # fmt: skip
        self.groups[name] = group
        return web.json_response(group, status=201)

    def _group(self, request: web.Request) -> dict[str, Any] | None:
        return self.groups.get(request.match_info["name"])

    async def list(self, request: web.Request) -> web.Response:
        return web.json_response({"items": list(self.groups.values())})

    async def get(self, request: web.Request) -> web.Response:
        group = self._group(request)
        if group is None:
            return problem(404, "Not Found", "container group not found")
        state = group["current_state"]
        if state["status"] == "deploying":  # one state per read
            state["status"] = "running"
            state["instance_status_counts"]["running_count"] = group["replicas"]
        return web.json_response(group)

    async def instances(self, request: web.Request) -> web.Response:
        group = self._group(request)
        if group is None:
            return problem(404, "Not Found", "container group not found")
        running = group["current_state"]["instance_status_counts"]["running_count"]
        instances = [
            {"id": f"i{i}", "machine_id": f"m{i}", "state": "running", "ready": True,
             "update_time": "2026-11-30T04:00:00Z", "version": 1}
            for i in range(running)
        ]  # fmt: skip
        return web.json_response({"instances": instances})

    async def _set(self, request: web.Request, status: str, running: int | None) -> web.Response:
        group = self._group(request)
        if group is None:
            return problem(404, "Not Found", "container group not found")
        group["current_state"]["status"] = status
        group["current_state"]["instance_status_counts"]["running_count"] = running or 0
        return web.Response(status=202)

    async def start(self, request: web.Request) -> web.Response:
        return await self._set(request, "deploying", 0)

    async def stop(self, request: web.Request) -> web.Response:
        return await self._set(request, "stopped", 0)

    async def delete(self, request: web.Request) -> web.Response:
        if self.groups.pop(request.match_info["name"], None) is None:
            return problem(404, "Not Found", "container group not found")
        return web.Response(status=202)
