"""SaladCloud container groups running comfyui-api: create, list, read, start, stop and delete
them through Salad's public API (https://docs.salad.com/reference, its OpenAPI description).

Header ``Salad-Api-Key``; everything lives under an organization and a project. A group is
"up" when it runs and at least one instance is ready; its access URL is ``https://<dns>``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from .errors import AuthError, InvalidRequest, NotFound, ProviderError, RateLimited, TransientError
from .http import ProviderHttp, Sleep, parse_retry_after

DEFAULT_API = "https://api.salad.com/api/public"  # AI_DIFFUSION_SALAD_API replaces it
DEFAULT_IMAGE = (
    "ghcr.io/saladtechnologies/comfyui-api:comfy0.7.0-api1.16.1-torch2.8.0-cuda12.8-runtime"
)


def _error(status: int, body: Any, retry_after: str) -> ProviderError:
    detail = str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
    if status in (401, 403):
        return AuthError(
            "Salad refused the API key. Check it (Salad portal → your account → API Access) and "
            "that it may manage this organization.",
            status=status,
        )
    if status == 404:
        return NotFound(
            "Salad has no such container group, organization or project. Check the names.",
            status=status,
        )
    if status == 429:
        return RateLimited(
            "Salad asks to slow down; retrying shortly.",
            parse_retry_after(retry_after),
            status=status,
        )
    if status in (400, 409, 422):
        return InvalidRequest(f"Salad refused the request: {detail or status}", status=status)
    if status >= 500:
        return TransientError(f"Salad had a temporary problem ({status}); retrying.", status=status)
    return ProviderError(f"Salad answered {status}: {detail}", status=status)


@dataclass(frozen=True)
class GroupSpec:
    name: str = "krita-comfyui"  # [a-z][a-z0-9-]
    image: str = DEFAULT_IMAGE
    gpu_classes: tuple[str, ...] = ()  # names (as the portal shows them) or ids
    replicas: int = 1
    auth: bool = True  # the gateway asks for Salad-Api-Key
    cpu: int = 4
    memory_mb: int = 30720
    storage_gb: int = 50

    def body(self, gpu_ids: list[str]) -> dict[str, Any]:
        probe = {"http": {"path": "/ready", "port": 3000, "scheme": "http", "headers": []},
                 "initial_delay_seconds": 0, "period_seconds": 2, "timeout_seconds": 2,
                 "success_threshold": 1, "failure_threshold": 3}  # fmt: skip
        return {
            "name": self.name,
            "autostart_policy": True,
            "restart_policy": "always",
            "replicas": self.replicas,
            "container": {
                "image": self.image,
                "priority": "high",
                "resources": {
                    "cpu": self.cpu,
                    "memory": self.memory_mb,
                    "gpu_classes": gpu_ids,
                    "storage_amount": self.storage_gb * 2**30,
                },  # fmt: skip
            },
            "networking": {
                "protocol": "http",
                "port": 3000,
                "auth": self.auth,
                "load_balancer": "least_number_of_connections",
            },  # fmt: skip
            "readiness_probe": probe,
        }


@dataclass(frozen=True)
class Group:
    name: str
    status: str  # pending, deploying, running, stopped, succeeded, failed
    replicas: int = 0
    running: int = 0  # instances running
    ready: int = -1  # instances ready (-1 = not asked)
    dns: str = ""

    @property
    def url(self) -> str:
        if not self.dns:
            return ""
        return self.dns if "://" in self.dns else f"https://{self.dns}"

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Group:
        state: dict[str, Any] = data.get("current_state") or {}
        counts = state.get("instance_status_counts") or {}
        networking: dict[str, Any] = data.get("networking") or {}
        return cls(
            name=str(data.get("name", "")),
            status=str(state.get("status", "")),
            replicas=int(data.get("replicas") or 0),
            running=int(counts.get("running_count") or 0),
            dns=str(networking.get("dns") or ""),
        )

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "replicas": self.replicas,
                "running": self.running, "ready": self.ready, "url": self.url}  # fmt: skip


class SaladGroups:
    def __init__(
        self,
        api_key: str,
        organization: str,
        project: str,
        *,
        base_url: str = DEFAULT_API,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.http = ProviderHttp(
            base_url, api_key, _error, provider="Salad", sleep=sleep, key_header="Salad-Api-Key"
        )
        self.organization = organization
        self.prefix = f"/organizations/{organization}/projects/{project}/containers"

    async def gpu_class_ids(self, wanted: tuple[str, ...]) -> list[str]:
        data = await self.http.request("GET", f"/organizations/{self.organization}/gpu-classes")
        items = data.get("items", []) if isinstance(data, dict) else []
        by_name = {str(i.get("name", "")).lower(): str(i.get("id")) for i in items}
        ids = {str(i.get("id")) for i in items}
        result = []
        for name in wanted:
            if name in ids:
                result.append(name)
            elif name.lower() in by_name:
                result.append(by_name[name.lower()])
            else:
                known = ", ".join(sorted(str(i.get("name")) for i in items)[:12])
                raise InvalidRequest(f"Salad has no GPU class '{name}'. Known: {known}.")
        return result

    async def create(self, spec: GroupSpec) -> Group:
        ids = await self.gpu_class_ids(spec.gpu_classes) if spec.gpu_classes else []
        if not ids:
            raise InvalidRequest("Name at least one GPU class for the container group.")
        return Group.parse(await self.http.request("POST", self.prefix, spec.body(ids)))

    async def list(self) -> list[Group]:
        data = await self.http.request("GET", self.prefix)
        items = data.get("items", []) if isinstance(data, dict) else []
        return [Group.parse(g) for g in items if isinstance(g, dict)]

    async def get(self, name: str) -> Group:
        group = Group.parse(await self.http.request("GET", f"{self.prefix}/{name}"))
        data = await self.http.request("GET", f"{self.prefix}/{name}/instances")
        instances = data.get("instances", []) if isinstance(data, dict) else []
        ready = sum(1 for i in instances if isinstance(i, dict) and i.get("ready"))
        return Group(group.name, group.status, group.replicas, group.running, ready, group.dns)

    async def start(self, name: str) -> None:
        await self.http.request("POST", f"{self.prefix}/{name}/start")

    async def stop(self, name: str) -> None:
        await self.http.request("POST", f"{self.prefix}/{name}/stop")

    async def delete(self, name: str) -> None:
        await self.http.request("DELETE", f"{self.prefix}/{name}")
