"""vast.ai (https://console.vast.ai/api/v0/…)."""

from __future__ import annotations

import asyncio
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
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

DEFAULT_API = "https://console.vast.ai"
VOLUME_PATH = "/workspace"  # where the image keeps its models
VOLUME_MIN_GB = 1
STATES = {
    None: PodState.provisioning,
    "loading": PodState.starting,
    "rebooting": PodState.starting,
    "running": PodState.running,
    "stopped": PodState.stopped,
    "frozen": PodState.stopped,
    "exited": PodState.error,
    "unknown": PodState.error,
    "offline": PodState.error,
}


def _error(status: int, body: Any, retry_after: str) -> ProviderError:
    if isinstance(body, dict):
        code = str(body.get("error", ""))
        msg = str(body.get("msg") or body.get("detail") or "")
    else:
        code, msg = "", str(body)[:200]
    if status == 401 or code == "auth_error" or "invalid user key" in msg.lower():
        return AuthError(
            "vast.ai refused the API key. Check it (vast.ai › Account › Keys).", status=status
        )
    if status == 403 and "not your own" not in msg:
        return AuthError("This vast.ai API key may not do that.", status=status)
    if status == 429:
        return RateLimited(
            "vast.ai asks to slow down; retrying shortly.",
            parse_retry_after(retry_after, 2.0),
            status=status,
        )
    if code == "missing_billing" or status == 402:
        return InsufficientFunds(
            "Your vast.ai credit is too low. Add credit at vast.ai › Billing.", status=status
        )
    if status in (404, 410) and "no_such_ask" in (code + msg):
        return NoCapacity("This vast.ai offer was just taken by someone else.", status=status)
    if status == 404:
        return NotFound("vast.ai has no such instance (it may have been destroyed).", status=status)
    if "gpu" in msg.lower() and "not" in msg.lower() and "available" in msg.lower():
        return ResumeRefused(
            "The machine this instance was on has no free GPU now. Destroy it and create a new one.",
            status=status,
        )
    if status == 409:
        return Conflict(f"vast.ai cannot do that now: {msg}", status=status)
    if status == 400:
        return InvalidRequest(f"vast.ai rejected the request: {msg}", status=status)
    if status >= 500:
        return TransientError(
            f"vast.ai had a temporary problem ({status}); retrying.", status=status
        )
    return ProviderError(f"vast.ai answered {status}: {msg}", status=status)


@dataclass(frozen=True)
class VastOffer(GpuOption):
    """A vast.ai GPU offer, with its machine and, when found for a volume, a volume offer on
    the same machine (vast.ai volumes stay on the machine they are made on)."""

    machine_id: int = 0
    volume_ask: int = 0  # the volume offer's id; 0: none looked up
    volume_price: float | None = None  # its dollars per GB and month, when vast.ai gives it
    volume_space: float = 0.0  # GB a volume there may hold


@dataclass(frozen=True)
class VastVolume(NetworkVolume):
    """A vast.ai volume: on one machine, and only pods on that machine can mount it."""

    machine_id: int = 0


def offer_volume_price(gpu: GpuOption | None) -> float | None:
    """Dollars per GB and month of a new volume beside ``gpu`` (vast.ai), None when unknown."""
    return gpu.volume_price if isinstance(gpu, VastOffer) else None


def _volume_name(name: str) -> str:
    """vast.ai takes letters, digits and underscores, at most 64."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)[:64]


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class VastProvider:
    name = "vast"

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_API,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,  # seconds since the epoch, as start_date
    ) -> None:
        self.http = ProviderHttp(base_url, api_key, _error, provider="vast.ai", sleep=sleep)
        self.wall_clock = wall_clock
        self._ports: dict[str, Any] = {}

    def _pod(self, d: dict[str, Any]) -> Pod:
        actual = d.get("actual_status")
        state = STATES.get(actual, PodState.unknown)
        if d.get("cur_state") == "unloaded":
            state = PodState.terminated
        start = d.get("start_date")
        uptime = (
            max(0.0, self.wall_clock() - float(start))
            if start and state is PodState.running
            else 0.0
        )
        pod = Pod(
            provider=self.name,
            id=str(d["id"]),
            name=str(d.get("label") or ""),
            state=state,
            price_per_hour=float(d.get("dph_total") or 0.0),
            gpu_name=str(d.get("gpu_name", "")),
            gpu_count=int(d.get("num_gpus") or 1),
            uptime_seconds=uptime,
            raw_status=str(actual),
            message=str(d.get("status_msg") or ""),
        )
        self._ports[pod.id] = (d.get("public_ipaddr"), d.get("ports") or {})
        return pod

    async def list_gpus(
        self,
        min_vram: float = 0,
        max_price: float | None = None,
        gpu_names: list[str] | None = None,
        min_reliability: float = 0.98,
        min_cuda: str = "",
        disk_gb: int = 50,
        machines: list[int] | None = None,  # only offers on these machines
    ) -> list[GpuOption]:
        query: dict[str, Any] = {
            "verified": {"eq": True}, "external": {"eq": False}, "rentable": {"eq": True}, "rented": {"eq": False},
            "num_gpus": {"eq": 1}, "reliability": {"gte": min_reliability}, "disk_space": {"gte": disk_gb},
            "direct_port_count": {"gte": 2}, "order": [["dph_total", "asc"]], "type": "on-demand", "limit": 20,
            "allocated_storage": disk_gb,
        }  # fmt: skip
        if gpu_names:
            query["gpu_name"] = {"in": gpu_names}
        if min_vram:
            query["gpu_ram"] = {"gte": min_vram * 1000}
        if min_cuda:
            query["cuda_max_good"] = {"gte": float(min_cuda)}
        if max_price is not None:
            query["dph_total"] = {"lte": max_price}
        if machines is not None:
            query["machine_id"] = {"in": machines}
        data = await self.http.request("POST", "/api/v0/bundles/", query)
        return [
            VastOffer(self.name, str(o["id"]), o.get("gpu_name", ""), round(float(o.get("gpu_ram", 0)) / 1024, 1),
                      float(o.get("dph_total", 0)), f"{float(o.get('reliability2', o.get('reliability', 0))):.3f}",
                      int(o.get("num_gpus", 1)), str(o.get("geolocation", "")), str(o.get("cuda_max_good", "")),
                      machine_id=int(o.get("machine_id") or 0))
            for o in data.get("offers", [])
        ]  # fmt: skip

    async def create_pod(self, spec: PodSpec, gpu: GpuOption) -> Pod:
        port = spec.exposed_port
        env: dict[str, str] = {f"-p {port}:{port}": "1", "-p 22:22": "1"}
        env.update(spec.environment())
        body = {
            "client_id": "me", "image": spec.image.image, "disk": spec.disk_gb, "label": spec.name,
            "runtype": "args", "env": env, "args": shlex.split(spec.args) or None, "cancel_unavail": True,
        }  # fmt: skip
        if spec.network_volume_id:  # an existing volume on this offer's machine, at /workspace
            body["volume_info"] = {
                "create_new": False, "volume_id": int(spec.network_volume_id), "mount_path": VOLUME_PATH,
            }  # fmt: skip
        data = await self.http.request("PUT", f"/api/v0/asks/{gpu.ref}/", body)
        if not data or not data.get("success"):
            raise ProviderError("vast.ai did not create the instance.", details=str(data)[:300])
        return Pod(
            self.name,
            str(data["new_contract"]),
            spec.name,
            PodState.provisioning,
            gpu.price_per_hour,
            gpu.gpu_name,
        )

    async def get_pod(self, pod_id: str) -> Pod | None:
        try:
            data = await self.http.request(
                "GET", f"/api/v0/instances/{pod_id}/", params={"owner": "me"}
            )
        except NotFound:
            return None
        instance = data.get("instances") if isinstance(data, dict) else None
        return self._pod(instance) if isinstance(instance, dict) else None

    async def list_pods(self) -> list[Pod]:
        pods: list[Pod] = []
        token = None
        for _ in range(100):  # bounded paging
            params = {"limit": "25"}
            if token:
                params["after_token"] = token
            data = await self.http.request("GET", "/api/v1/instances/", params=params)
            pods.extend(self._pod(i) for i in data.get("instances", []))
            token = data.get("next_token")
            if not token:
                break
        return pods

    async def _state(self, pod_id: str, state: str) -> None:
        data = await self.http.request("PUT", f"/api/v0/instances/{pod_id}/", {"state": state})
        if isinstance(data, dict) and data.get("success") is False:
            raise _error(400, data, "")

    async def stop(self, pod_id: str) -> None:
        await self._state(pod_id, "stopped")

    async def resume(self, pod_id: str) -> None:
        await self._state(pod_id, "running")

    async def terminate(self, pod_id: str) -> None:
        await self.http.request("DELETE", f"/api/v0/instances/{pod_id}/", {})

    def service_url(self, pod: Pod, port: int) -> str | None:
        ip, ports = self._ports.get(pod.id, (None, {}))
        mapping = ports.get(f"{port}/tcp") if isinstance(ports, dict) else None
        if pod.state is not PodState.running or not ip or not mapping:
            return None
        return f"http://{ip}:{mapping[0]['HostPort']}"

    # Volumes -----------------------------------------------------------------------------------
    # vast.ai's volumes are local: made from a volume offer on one machine, they stay there, and
    # only instances rented on that machine can mount them (docs: guides/instances/storage/volumes).

    volume_price_per_gb_month: float | None = None  # each machine its own: see VastOffer

    def _volume(self, d: dict[str, Any]) -> VastVolume:
        machine = int(d.get("machine_id") or 0)
        return VastVolume(
            provider=self.name,
            id=str(d["id"]),
            name=str(d.get("label") or d.get("name") or f"V.{d['id']}"),
            size_gb=int(float(d.get("disk_space") or 0)),
            data_center=f"machine {machine}" if machine else "",
            machine_id=machine,
        )

    async def list_volumes(self) -> list[NetworkVolume]:
        data = await self.http.request(
            "GET", "/api/v0/volumes/", params={"owner": "me", "type": "local_volume"}
        )
        items = data.get("volumes", []) if isinstance(data, dict) else []
        return [self._volume(v) for v in items if isinstance(v, dict) and "id" in v]

    async def volume_regions(self) -> list[tuple[str, str]]:
        return []  # a volume is made on the chosen GPU's machine

    async def _volume_offers(self, machines: list[int], size_gb: int) -> dict[int, dict[str, Any]]:
        """The cheapest volume offer with room for ``size_gb`` on each of ``machines``."""
        if not machines:
            return {}
        query = {
            "verified": {"eq": True}, "external": {"eq": False}, "disk_space": {"gte": size_gb},
            "machine_id": {"in": machines}, "order": [["storage_cost", "asc"]], "limit": 64,
            "allocated_storage": size_gb,
        }  # fmt: skip
        data = await self.http.request("POST", "/api/v0/volumes/search/", query)
        found: dict[int, dict[str, Any]] = {}
        for o in data.get("offers", []) if isinstance(data, dict) else []:
            machine = int(o.get("machine_id") or 0)
            if machine and machine not in found:
                found[machine] = o
        return found

    async def gpus_for_volume(
        self,
        volume: NetworkVolume | None,
        size_gb: int,
        data_center: str = "",
        *,
        min_vram: float = 0,
        max_price: float | None = None,
    ) -> list[GpuOption]:
        """With a volume: the GPUs on its machine. Without: the GPUs on machines that offer a
        volume of ``size_gb``, each with that volume's price."""
        if isinstance(volume, VastVolume):
            return await self.list_gpus(
                min_vram=min_vram, max_price=max_price, machines=[volume.machine_id]
            )
        offers = await self.list_gpus(min_vram=min_vram, max_price=max_price)
        machines = sorted(
            {o.machine_id for o in offers if isinstance(o, VastOffer) and o.machine_id}
        )
        volumes = await self._volume_offers(machines, size_gb)
        found: list[GpuOption] = []
        for o in offers:
            v = volumes.get(o.machine_id) if isinstance(o, VastOffer) else None
            if isinstance(o, VastOffer) and v is not None:
                found.append(replace(
                    o, volume_ask=int(v["id"]), volume_price=_number(v.get("storage_cost")),
                    volume_space=float(v.get("disk_space") or 0),
                ))  # fmt: skip
        return found

    async def create_volume(
        self, name: str, size_gb: int, *, data_center: str = "", gpu: GpuOption | None = None
    ) -> NetworkVolume:
        """A volume on ``gpu``'s machine, from the volume offer found beside it."""
        if not isinstance(gpu, VastOffer) or not gpu.volume_ask:
            raise InvalidRequest(
                "A vast.ai volume is made on the machine of the GPU you rent: tick 'Keep models "
                "on volume', then Find GPUs, and choose one of those."
            )
        if size_gb < VOLUME_MIN_GB or (gpu.volume_space and size_gb > gpu.volume_space):
            raise InvalidRequest(
                f"That machine keeps volumes of {VOLUME_MIN_GB} to {gpu.volume_space:.0f} GB; "
                "choose a size in between, or another GPU."
            )
        label = _volume_name(name)
        body = {"id": gpu.volume_ask, "size": size_gb, "name": label}
        data = await self.http.request("PUT", "/api/v0/volumes/", body)
        made = str(data.get("volume_name", "")) if isinstance(data, dict) else ""
        number = made.removeprefix("V.")
        if not (isinstance(data, dict) and data.get("success")) or not number.isdigit():
            raise ProviderError("vast.ai did not make the volume.", details=str(data)[:300])
        return VastVolume(
            provider=self.name, id=number, name=label, size_gb=size_gb,
            data_center=f"machine {gpu.machine_id}", machine_id=gpu.machine_id,
        )  # fmt: skip

    def fits(self, volume: NetworkVolume, gpu: GpuOption) -> bool:
        """Only a GPU on the volume's own machine can mount it."""
        if isinstance(volume, VastVolume) and isinstance(gpu, VastOffer):
            return bool(volume.machine_id) and volume.machine_id == gpu.machine_id
        return False
