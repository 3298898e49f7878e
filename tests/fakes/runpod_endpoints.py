"""A fake of RunPod's REST v2 serverless endpoints (``/v2/serverless``), strict like the
OpenAPI description of RunPod's REST API (https://docs.runpod.io/api-reference): unknown fields → 422, exactly one of
gpu/cpu → else 400, image unless templateId, known pool ids, idleTimeout 1–3600."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.runpod_server import problem

CREATE_FIELDS = {
    "args", "cpu", "dataCenterIds", "disk", "env", "flashboot", "gpu", "image", "name",
    "networkVolumes", "ports", "registry", "scaling", "templateId", "timeout", "type", "workers",
}  # fmt: skip
POOLS = {"AMPERE_16", "AMPERE_24", "ADA_24", "ADA_32_PRO", "AMPERE_48", "ADA_48_PRO", "AMPERE_80"}


@dataclass
class FakeEndpoints:
    api_key: str = "rp-endpoints-key-0123456789"
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_job_api: str = "https://api.runpod.ai/v2"

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        r = app.router
        r.add_post("/v2/serverless", self.create)
        r.add_get("/v2/serverless", self.list)
        r.add_get("/v2/serverless/{id}", self.get)
        r.add_patch("/v2/serverless/{id}", self.patch)
        r.add_delete("/v2/serverless/{id}", self.delete)
        r.add_get("/v2/serverless/{id}/workers", self.workers)
        r.add_get("/v2/catalog/gpus", self.catalog)
        return app

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return problem(401, "Unauthorized", "invalid api key")
        return await handler(request)

    async def create(self, request: web.Request) -> web.Response:
        body = await request.json()
        unknown = set(body) - CREATE_FIELDS
        if unknown:
            return problem(422, "Unprocessable Entity", f"unknown fields: {sorted(unknown)}")
        missing = [k for k in ("name", "type", "scaling") if k not in body]
        if "image" not in body and "templateId" not in body:
            missing.append("image")
        if missing:
            return problem(422, "Unprocessable Entity", f"missing: {missing}")
        if ("gpu" in body) == ("cpu" in body):
            return problem(400, "Bad Request", "specify exactly one of gpu or cpu")
        pools = body["gpu"].get("pools") or []
        if not pools or set(pools) - POOLS:
            return problem(422, "Unprocessable Entity", f"unknown gpu pools: {pools}")
        workers = body.get("workers", {})
        if not 1 <= int(workers.get("idleTimeout", 10)) <= 3600:
            return problem(422, "Unprocessable Entity", "idleTimeout must be 1–3600")
        if body.get("flashboot", "OFF") not in ("OFF", "FLASHBOOT", "PRIORITY_FLASHBOOT"):
            return problem(422, "Unprocessable Entity", "bad flashboot")
        endpoint_id = uuid.uuid4().hex[:14]
        endpoint = {
            **body,
            "id": endpoint_id,
            "workers": {"min": workers.get("min", 0), "max": workers.get("max", 3),
                        "idleTimeout": workers.get("idleTimeout", 10)},
            "requestUrls": {"run": f"{self.base_job_api}/{endpoint_id}/run"},
            "dataCenterIds": [], "networkVolumes": body.get("networkVolumes", []),
            "createdAt": "2026-11-30T04:00:00Z",
        }  # fmt: skip
        self.endpoints[endpoint_id] = endpoint
        return web.json_response(endpoint, status=201)

    async def list(self, request: web.Request) -> web.Response:
        return web.json_response({"endpoints": list(self.endpoints.values())})

    def _find(self, request: web.Request) -> dict[str, Any] | None:
        return self.endpoints.get(request.match_info["id"])

    async def get(self, request: web.Request) -> web.Response:
        endpoint = self._find(request)
        if endpoint is None:
            return problem(404, "Not Found", "endpoint not found")
        return web.json_response(endpoint)

    async def patch(self, request: web.Request) -> web.Response:
        endpoint = self._find(request)
        if endpoint is None:
            return problem(404, "Not Found", "endpoint not found")
        body = await request.json()
        endpoint["workers"].update(body.get("workers", {}))
        return web.json_response(endpoint)

    async def delete(self, request: web.Request) -> web.Response:
        if self.endpoints.pop(request.match_info["id"], None) is None:
            return problem(404, "Not Found", "endpoint not found")
        return web.Response(status=204)

    async def workers(self, request: web.Request) -> web.Response:
        if self._find(request) is None:
            return problem(404, "Not Found", "endpoint not found")
        summary = {
            "running": 0,
            "idle": 1,
            "initializing": 0,
            "throttled": 0,
            "unhealthy": 0,
            "total": 1,
        }
        return web.json_response({"workers": [], "summary": summary, "endpointVersion": 1})

    async def catalog(self, request: web.Request) -> web.Response:
        gpus = [
            {"id": "NVIDIA GeForce RTX 4090", "name": "RTX 4090", "pool": "ADA_24", "memory": 24,
             "price": {"secure": 0.44, "community": 0.31, "serverless": 1.1}},
            {"id": "NVIDIA RTX A5000", "name": "RTX A5000", "pool": "AMPERE_24", "memory": 24,
             "price": {"secure": 0.27, "community": 0.16, "serverless": 0.72}},
        ]  # fmt: skip
        if request.query.get("product") == "SERVERLESS":
            gpus = [g for g in gpus if g["pool"]]
        return web.json_response({"gpus": gpus})

    def add(self, endpoint_id: str, pools: list[str]) -> None:
        """An endpoint created earlier (in the console)."""
        self.endpoints[endpoint_id] = {
            "id": endpoint_id, "name": "krita", "type": "QUEUE", "gpu": {"pools": pools},
            "workers": {"min": 0, "max": 3, "idleTimeout": 5},
        }  # fmt: skip
