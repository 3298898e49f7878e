"""RunPod Serverless endpoints for the ComfyUI worker: create, list, read and delete them
through RunPod's REST API v2 (``/v2/serverless``; https://docs.runpod.io/api-reference).

An endpoint is created with its image inline (no template), QUEUE routing, min 0 workers (it
scales to zero: nothing is billed while no job runs), an idle timeout, FlashBoot, and optionally
a network volume with the painter's models. Deleting it also cancels its jobs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import NotFound, ProviderError
from .http import ProviderHttp, Sleep
from .runpod import DEFAULT_API
from .runpod import _error as _runpod_error

DEFAULT_IMAGE = "runpod/worker-comfyui:5.8.5-sdxl"
DEFAULT_POOLS = ("ADA_24", "AMPERE_24")  # 24 GB pools; the scheduler takes whichever has room


@dataclass(frozen=True)
class EndpointSpec:
    name: str = "krita-comfyui"
    image: str = DEFAULT_IMAGE
    pools: tuple[str, ...] = DEFAULT_POOLS
    max_workers: int = 3
    idle_timeout: int = 5  # seconds a worker stays up after its last job
    flashboot: bool = True
    network_volume: str = ""  # volume id with the painter's models (/runpod-volume/models)
    disk_gb: int = 20
    timeout_ms: int = 300_000  # per-job execution timeout

    def body(self) -> dict[str, Any]:
        """``CreateEndpointRequest``: only documented fields (unknown ones are refused)."""
        body: dict[str, Any] = {
            "name": self.name,
            "type": "QUEUE",
            "image": self.image,
            "disk": self.disk_gb,
            "gpu": {"pools": list(self.pools), "count": 1},
            "workers": {"min": 0, "max": self.max_workers, "idleTimeout": self.idle_timeout},
            "scaling": {"type": "QUEUE_DELAY", "queueDelay": 4},
            "flashboot": "FLASHBOOT" if self.flashboot else "OFF",
            "timeout": self.timeout_ms,
        }
        if self.network_volume:
            body["networkVolumes"] = [self.network_volume]
        return body


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str
    image: str = ""
    pools: tuple[str, ...] = ()
    min_workers: int = 0
    max_workers: int = 0
    idle_timeout: int = 0
    workers: dict[str, int] = field(default_factory=dict)  # running, idle, initializing, …

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Endpoint:
        gpu: dict[str, Any] = data["gpu"] if isinstance(data.get("gpu"), dict) else {}
        workers: dict[str, Any] = data["workers"] if isinstance(data.get("workers"), dict) else {}
        return cls(
            id=str(data.get("id", "")),
            name=str(data.get("name", "")),
            image=str(data.get("image", "")),
            pools=tuple(str(p) for p in gpu.get("pools") or []),
            min_workers=int(workers.get("min") or 0),
            max_workers=int(workers.get("max") or 0),
            idle_timeout=int(workers.get("idleTimeout") or 0),
        )

    @property
    def throttled(self) -> bool:
        """RunPod lowers max workers of an endpoint unused for days, down to 0: it then
        takes jobs but never runs them until max workers is raised again."""
        return self.max_workers == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "image": self.image, "pools": list(self.pools),
            "min_workers": self.min_workers, "max_workers": self.max_workers,
            "idle_timeout": self.idle_timeout, "workers": self.workers,
        }  # fmt: skip


def _error(status: int, body: Any, retry_after: str) -> ProviderError:
    if status == 404:
        return NotFound(
            "RunPod has no such serverless endpoint (it may have been deleted).", status=status
        )
    return _runpod_error(status, body, retry_after)


class RunPodEndpoints:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_API,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 60.0,
    ) -> None:
        self.http = ProviderHttp(
            base_url, api_key, _error, provider="RunPod", sleep=sleep, timeout=timeout
        )

    async def create(self, spec: EndpointSpec) -> Endpoint:
        return Endpoint.parse(await self.http.request("POST", "/v2/serverless", spec.body()))

    async def list(self) -> list[Endpoint]:
        data = await self.http.request("GET", "/v2/serverless")
        items = data.get("endpoints", []) if isinstance(data, dict) else []
        return [Endpoint.parse(e) for e in items if isinstance(e, dict)]

    async def get(self, endpoint_id: str) -> Endpoint:
        endpoint = Endpoint.parse(await self.http.request("GET", f"/v2/serverless/{endpoint_id}"))
        data = await self.http.request("GET", f"/v2/serverless/{endpoint_id}/workers")
        summary = data.get("summary", {}) if isinstance(data, dict) else {}
        counts = {k: int(v) for k, v in summary.items() if isinstance(v, int)}
        return replace(endpoint, workers=counts)

    async def raise_max_workers(self, endpoint_id: str, max_workers: int) -> Endpoint:
        """Undo RunPod's throttling of an endpoint left unused for days."""
        body = {"workers": {"max": max_workers}}
        return Endpoint.parse(
            await self.http.request("PATCH", f"/v2/serverless/{endpoint_id}", body)
        )

    async def price_per_second(self, endpoint_id: str) -> float:
        """The most a second of work on this endpoint costs: the highest serverless price
        among the GPUs of its pools (the scheduler may pick any), in USD. 0 when unknown."""
        endpoint = await self.get(endpoint_id)
        data = await self.http.request("GET", "/v2/catalog/gpus", params={"product": "SERVERLESS"})
        gpus = data.get("gpus", []) if isinstance(data, dict) else []
        prices = [
            float((g.get("price") or {}).get("serverless") or 0)
            for g in gpus
            if isinstance(g, dict) and g.get("pool") in endpoint.pools
        ]
        return max(prices, default=0.0) / 3600

    async def delete(self, endpoint_id: str) -> None:
        await self.http.request("DELETE", f"/v2/serverless/{endpoint_id}")
