"""RunPod, REST API v2 (https://api.runpod.io/v2/…)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Any

from .errors import (
    AuthError,
    Conflict,
    InsufficientFunds,
    InvalidRequest,
    NoCapacity,
    NotFound,
    ProviderError,
    RateLimited,
    ResumeRefused,
    TransientError,
)
from .http import ProviderHttp, Sleep, parse_retry_after
from .models import GpuOption, NetworkVolume, Pod, PodSpec, PodState

DEFAULT_API = "https://api.runpod.io"
DEFAULT_PROXY = "https://{pod_id}-{port}.proxy.runpod.net"
# Network volumes: what RunPod's pricing page (runpod.io/pricing, "Network Volume") lists,
# in dollars per GB and month; it may change, so the panel says "about". Billed while the
# volume exists, whether a pod uses it or not.
VOLUME_PRICE_PER_GB_MONTH = 0.07
# Where a new volume is made when the painter does not say (a volume only mounts on pods in
# its own data center; pods made with it are placed there).
DEFAULT_DATA_CENTER = "EU-RO-1"
# Data centers that keep network volumes, shown until the catalog (GET /v2/catalog/datacenters)
# has answered, or when it cannot be read. The catalog's list replaces it.
DATA_CENTERS = (
    ("EU-RO-1", "Europe, Romania"),
    ("EU-CZ-1", "Europe, Czechia"),
    ("EU-SE-1", "Europe, Sweden"),
    ("US-KS-2", "US, Kansas"),
    ("US-TX-3", "US, Texas"),
    ("CA-MTL-1", "Canada, Montreal"),
)
VOLUME_MIN_GB = 10  # CreateNetworkVolumeRequest.size: 10 to 4096
VOLUME_MAX_GB = 4096
VOLUME_PATH = "/workspace"  # where the image keeps its models
STATES = {
    "PROVISIONING": PodState.provisioning,
    "STARTING": PodState.starting,
    "RUNNING": PodState.running,
    "EXITED": PodState.stopped,
    "ERROR": PodState.error,
    "TERMINATED": PodState.terminated,
}


def _error(status: int, body: Any, retry_after: str) -> ProviderError:
    detail = body.get("detail", "") if isinstance(body, dict) else str(body)[:200]
    errors = body.get("errors", []) if isinstance(body, dict) else []
    if status == 401:
        return AuthError(
            "RunPod refused the API key. Check it in the pod settings (RunPod › Settings › API Keys).",
            status=status,
        )
    if status == 403:
        return AuthError(
            "This RunPod API key may not do that (it lacks permission). Use a key with read and write access.",
            status=status,
        )
    if status == 402:
        return InsufficientFunds(
            "Your RunPod balance is too low to start a pod. Add funds at runpod.io › Billing.",
            status=status,
        )
    if status == 429:
        return RateLimited(
            "RunPod asks to slow down; retrying shortly.",
            parse_retry_after(retry_after),
            status=status,
        )
    if status == 422:
        listed = "; ".join(map(str, errors)) or detail
        return InvalidRequest(f"RunPod rejected the pod settings: {listed}", status=status)
    if status == 409:
        return Conflict(
            f"RunPod cannot do that in the pod's current state: {detail}", status=status
        )
    if status == 404:
        return NotFound("RunPod has no such pod (it may have been terminated).", status=status)
    if status == 400 and "not enough free gpus" in detail.lower():
        return ResumeRefused(
            "The machine this pod was on has no free GPU now, so it cannot resume. Terminate it "
            "and create a new pod (files outside the volume are lost).",
            status=status,
        )
    if status == 400 and (
        "no longer any instances" in detail.lower() or "available" in detail.lower()
    ):
        return NoCapacity(f"RunPod has no free GPU of this type right now: {detail}", status=status)
    if status == 400:
        return InvalidRequest(f"RunPod rejected the request: {detail}", status=status)
    if status >= 500:
        return TransientError(
            f"RunPod had a temporary problem ({status}); retrying.", status=status
        )
    return ProviderError(f"RunPod answered {status}: {detail}", status=status)


def _uptime(data: dict[str, Any]) -> float:
    runtime = data.get("runtime") or {}
    if isinstance(runtime, dict) and runtime.get("uptime") is not None:
        return float(runtime["uptime"])
    started = data.get("startedAt")
    if started and data.get("status") == "RUNNING":
        try:
            # Python 3.10's fromisoformat takes no "Z", and fractions of exactly 3 or 6 digits.
            text = re.sub(r"\.(\d+)", lambda m: "." + m.group(1).ljust(6, "0")[:6], str(started))
            text = text.replace("Z", "+00:00")
            t = datetime.fromisoformat(text)
            return max(0.0, (datetime.now(timezone.utc) - t).total_seconds())
        except ValueError:
            return 0.0
    return 0.0


class RunPodProvider:
    name = "runpod"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_API,
        proxy_template: str = DEFAULT_PROXY,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.http = ProviderHttp(base_url, api_key, _error, provider="RunPod", sleep=sleep)
        self.proxy_template = proxy_template

    def _pod(self, data: dict[str, Any]) -> Pod:
        status = str(data.get("status", ""))
        gpu = data.get("gpu") or {}
        return Pod(
            provider=self.name,
            id=str(data["id"]),
            name=str(data.get("name", "")),
            state=STATES.get(status, PodState.unknown),
            price_per_hour=float(data.get("cost") or 0.0),
            gpu_name=str(gpu.get("id", "")),
            gpu_count=int(gpu.get("count", 1) or 1),
            uptime_seconds=_uptime(data),
            raw_status=status,
        )

    async def list_gpus(
        self,
        min_vram: float = 0,
        max_price: float | None = None,
        gpu_names: list[str] | None = None,
        cloud: str = "SECURE",
        min_cuda: str = "",
        data_center: str = "",  # only GPUs that data center has now (where it says)
    ) -> list[GpuOption]:
        params = {"include": "AVAILABILITY", "product": "POD", "cloud": cloud}
        if min_cuda:
            params["minCudaVersion"] = min_cuda
        data = await self.http.request("GET", "/v2/catalog/gpus", params=params)
        options = []
        key = "community" if cloud == "COMMUNITY" else "secure"
        for g in data.get("gpus", []):
            price = (g.get("price") or {}).get(key)
            if price is None or float(g.get("memory", 0)) < min_vram:
                continue
            if max_price is not None and price > max_price:
                continue
            if g.get("availability") == "NONE":
                continue
            if gpu_names and not {g["id"], g.get("name")} & set(gpu_names):
                continue
            if data_center and not _in_data_center(g, data_center):
                continue
            options.append(
                GpuOption(
                    self.name,
                    g["id"],
                    g.get("name", g["id"]),
                    float(g.get("memory", 0)),
                    float(price),
                    str(g.get("availability", "")),
                )
            )
        return sorted(options, key=lambda o: o.price_per_hour)

    async def create_pod(self, spec: PodSpec, gpu: GpuOption) -> Pod:
        body: dict[str, Any] = {
            "name": spec.name,
            "image": spec.image.image,
            "gpu": {"id": gpu.ref, "count": gpu.gpu_count},
            "cloud": spec.cloud,
            "disk": spec.disk_gb,
            "ports": [f"{spec.exposed_port}/http", "22/tcp"],
            "env": spec.environment(),
        }
        if spec.image.min_cuda:
            body["gpu"]["minCudaVersion"] = spec.image.min_cuda
        if spec.args:
            body["args"] = spec.args
        if spec.network_volume_id:  # mounted at /workspace, where the image keeps its models
            body["mounts"] = {
                "network": [{"volumeId": spec.network_volume_id, "path": VOLUME_PATH}]
            }
            if spec.data_center:  # the volume's: the pod must be where its volume is
                body["dataCenterIds"] = [spec.data_center]
        elif spec.volume_gb:
            body["mounts"] = {"persistent": {"size": max(10, spec.volume_gb), "path": "/workspace"}}
        pod = self._pod(await self.http.request("POST", "/v2/pods", body))
        pod.price_per_hour = pod.price_per_hour or gpu.price_per_hour
        return pod

    async def get_pod(self, pod_id: str) -> Pod | None:
        try:
            return self._pod(await self.http.request("GET", f"/v2/pods/{pod_id}"))
        except NotFound:
            return None

    async def list_pods(self) -> list[Pod]:
        data = await self.http.request("GET", "/v2/pods")
        return [self._pod(p) for p in data.get("pods", [])]

    async def _action(self, pod_id: str, action: str) -> None:
        await self.http.request("POST", f"/v2/pods/{pod_id}/action", {"action": action})

    async def stop(self, pod_id: str) -> None:
        await self._action(pod_id, "stop")

    async def resume(self, pod_id: str) -> None:
        await self._action(pod_id, "start")

    async def terminate(self, pod_id: str) -> None:
        await self.http.request("DELETE", f"/v2/pods/{pod_id}")

    def service_url(self, pod: Pod, port: int) -> str | None:
        if pod.state is not PodState.running:
            return None
        return self.proxy_template.format(pod_id=pod.id, port=port)

    # Network volumes ---------------------------------------------------------------------------

    volume_price_per_gb_month: float | None = VOLUME_PRICE_PER_GB_MONTH

    def _volume(self, data: dict[str, Any]) -> NetworkVolume:
        return NetworkVolume(
            provider=self.name,
            id=str(data["id"]),
            name=str(data.get("name", "")),
            size_gb=int(data.get("size", 0) or 0),
            data_center=str(data.get("dataCenter", "") or ""),
        )

    async def list_volumes(self) -> list[NetworkVolume]:
        data = await self.http.request("GET", "/v2/network-volumes")
        items = data.get("networkVolumes", []) if isinstance(data, dict) else []
        return [self._volume(v) for v in items]

    async def volume_regions(self) -> list[tuple[str, str]]:
        """The data centers that keep network volumes: (id, name), as the catalog lists them."""
        data = await self.http.request("GET", "/v2/catalog/datacenters")
        centers = data.get("dataCenters", []) if isinstance(data, dict) else []
        return [
            (str(c["id"]), str(c.get("name") or c["id"]))
            for c in centers
            if isinstance(c, dict) and c.get("id") and c.get("networkVolumeTypes")
        ]

    async def create_volume(
        self,
        name: str,
        size_gb: int,
        *,
        data_center: str = DEFAULT_DATA_CENTER,
        gpu: GpuOption | None = None,  # vast.ai's need; a RunPod volume goes by data center
    ) -> NetworkVolume:
        if not VOLUME_MIN_GB <= size_gb <= VOLUME_MAX_GB:
            raise InvalidRequest(
                f"A RunPod network volume holds {VOLUME_MIN_GB} to {VOLUME_MAX_GB} GB; choose a "
                "size in between."
            )
        body = {"name": name, "size": size_gb, "dataCenter": data_center or DEFAULT_DATA_CENTER}
        return self._volume(await self.http.request("POST", "/v2/network-volumes", body))

    async def gpus_for_volume(
        self,
        volume: NetworkVolume | None,
        size_gb: int,
        data_center: str = "",
        *,
        min_vram: float = 0,
        max_price: float | None = None,
    ) -> list[GpuOption]:
        """GPUs a pod with this volume (or a new one in ``data_center``) can have: those of the
        volume's data center."""
        where = (volume.data_center if volume else data_center) or DEFAULT_DATA_CENTER
        return await self.list_gpus(min_vram=min_vram, max_price=max_price, data_center=where)

    def fits(self, volume: NetworkVolume, gpu: GpuOption) -> bool:
        return True  # the pod is placed in the volume's data center (dataCenterIds)


def _in_data_center(gpu: dict[str, Any], data_center: str) -> bool:
    """Whether the catalog says ``data_center`` has this GPU now; True when it does not say."""
    centers = gpu.get("dataCenters")
    if not isinstance(centers, list):
        return True
    return any(
        isinstance(c, dict) and c.get("id") == data_center and c.get("availability") != "NONE"
        for c in centers
    )
