"""The provider interface, and strategies on top of it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from .errors import NoCapacity
from .models import GpuOption, NetworkVolume, Pod, PodSpec, PodState

log = logging.getLogger(__name__)


class Provider(Protocol):
    name: str

    async def list_gpus(
        self,
        *,
        min_vram: float = 0,
        max_price: float | None = None,
        gpu_names: list[str] | None = None,
        min_cuda: str = "",  # the image's lowest CUDA version, e.g. "13.0"
    ) -> list[GpuOption]: ...

    async def create_pod(self, spec: PodSpec, gpu: GpuOption) -> Pod: ...

    async def get_pod(self, pod_id: str) -> Pod | None: ...

    async def list_pods(self) -> list[Pod]: ...

    async def stop(self, pod_id: str) -> None: ...

    async def resume(self, pod_id: str) -> None: ...

    async def terminate(self, pod_id: str) -> None: ...

    def service_url(self, pod: Pod, port: int) -> str | None: ...


@runtime_checkable
class VolumeProvider(Protocol):
    """A provider with volumes that outlive pods: RunPod network volumes (in one data center;
    pods are placed there) and vast.ai volumes (on one machine; pods must be rented on it).
    Optional: use :func:`volumes_of` to ask whether a provider has them."""

    # Dollars per GB and month, the provider's published price (approximate); None where each
    # machine has its own (vast.ai: on each GPU option found for a volume, ``volume_price``).
    volume_price_per_gb_month: float | None

    async def list_volumes(self) -> list[NetworkVolume]: ...

    async def volume_regions(self) -> list[tuple[str, str]]:
        """Where a new volume can be made, (id, name); [] where it goes with the GPU."""
        ...

    async def create_volume(
        self, name: str, size_gb: int, *, data_center: str = "", gpu: GpuOption | None = None
    ) -> NetworkVolume:
        """A new volume in ``data_center`` (RunPod) or on ``gpu``'s machine (vast.ai)."""
        ...

    async def gpus_for_volume(
        self,
        volume: NetworkVolume | None,
        size_gb: int,
        data_center: str = "",
        *,
        min_vram: float = 0,
        max_price: float | None = None,
    ) -> list[GpuOption]:
        """GPUs a pod with ``volume`` (None: a new one of ``size_gb``) can be rented on."""
        ...

    def fits(self, volume: NetworkVolume, gpu: GpuOption) -> bool:
        """Whether a pod on ``gpu`` can mount ``volume``."""
        ...


def volumes_of(provider: object) -> VolumeProvider | None:
    """``provider`` as a :class:`VolumeProvider`, or None when it has no network volumes."""
    return provider if isinstance(provider, VolumeProvider) else None


def volume_cost(size_gb: float, price_per_gb_month: float) -> float:
    """Dollars a month for a volume of ``size_gb``."""
    return round(size_gb * price_per_gb_month, 2)


async def create_pod_with_fallback(
    provider: Provider,
    spec: PodSpec,
    candidates: Sequence[GpuOption],
    on_skip: Callable[[GpuOption, str], None] | None = None,
) -> tuple[Pod, GpuOption]:
    """Create the pod on the first candidate with capacity (cheapest first is the caller's
    order). Other errors (auth, funds, invalid request) stop at once."""
    reasons = []
    for gpu in candidates:
        try:
            return await provider.create_pod(spec, gpu), gpu
        except NoCapacity as e:
            reasons.append(f"{gpu.gpu_name}: {e.message}")
            log.info("no capacity for %s, trying the next GPU", gpu.gpu_name)
            if on_skip:
                on_skip(gpu, e.message)
    tried = ", ".join(g.gpu_name for g in candidates) or "none"
    raise NoCapacity(
        f"None of the chosen GPUs is available on {provider.name} right now (tried: {tried}). "
        "Choose other GPU types or try again in a few minutes.",
        details="; ".join(reasons),
    )


async def find_orphans(provider: Provider) -> list[Pod]:
    """Pods created by this plugin (named krita-…) that still run and cost money."""
    return [
        p
        for p in await provider.list_pods()
        if p.name.startswith("krita-")
        and p.state in (PodState.running, PodState.starting, PodState.provisioning)
    ]
