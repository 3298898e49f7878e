"""Pods, GPU options and what a pod is created from."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum


class PodState(str, Enum):
    provisioning = "provisioning"
    starting = "starting"
    running = "running"
    stopped = "stopped"
    error = "error"
    terminated = "terminated"
    unknown = "unknown"


@dataclass(frozen=True)
class GpuOption:
    provider: str
    ref: str  # RunPod GPU type id, or vast offer id
    gpu_name: str
    vram_gb: float
    price_per_hour: float
    availability: str = ""  # RunPod: HIGH/MEDIUM/LOW/NONE; vast: reliability
    gpu_count: int = 1
    location: str = ""
    cuda: str = ""


@dataclass(frozen=True)
class ServerImage:
    """A container image running ComfyUI, and how the plugin talks to it."""

    name: str
    image: str
    port: int  # ComfyUI's HTTP port as exposed by the image
    models_path: str
    token_env: str | None = None  # env variable through which the image takes an auth token
    env: dict[str, str] = field(default_factory=dict)  # what the image needs to start ComfyUI
    args: str = ""
    min_cuda: str = ""
    notes: str = ""
    # The image's own start command (a shell line). Known for an image = the plugin can start
    # its pod gateway beside ComfyUI and expose only the gateway (cloud/pod_start.py).
    start: str = ""

    @property
    def gateway(self) -> bool:
        return bool(self.start)


def new_pod_name() -> str:
    return f"krita-{uuid.uuid4().hex[:8]}"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def pod_token_name(provider: str, pod_id: str) -> str:
    """Name under which a pod's access token is kept in the password store."""
    return f"pod_token:{provider}:{pod_id}"


@dataclass(frozen=True)
class PodSpec:
    """What a pod is created from. ``cloud/pod_start.py`` makes specs whose pod runs the
    plugin's gateway in front of ComfyUI (its program and token in ``env``, its start in
    ``start_args``, its port in ``port``), so only ``token`` gets through."""

    image: ServerImage
    name: str = field(default_factory=new_pod_name)
    disk_gb: int = 50
    volume_gb: int = 0
    env: dict[str, str] = field(default_factory=dict, repr=False)  # may hold the token
    token: str | None = field(default=None, repr=False)
    cloud: str = "SECURE"
    start_args: str = ""  # the container's start command; "" = the image's own (``image.args``)
    port: int = 0  # the port the plugin talks to; 0 = the image's ComfyUI port
    # A persistent network volume mounted at /workspace (RunPod): the models folder outlives
    # the pod. "" = none (the pod's own disk only). Its data center, where known, places the pod.
    network_volume_id: str = ""
    data_center: str = ""

    @property
    def exposed_port(self) -> int:
        return self.port or self.image.port

    @property
    def args(self) -> str:
        return self.start_args or self.image.args

    def environment(self) -> dict[str, str]:
        env = {**self.image.env, **self.env}
        if self.token and self.image.token_env:
            env[self.image.token_env] = self.token
        return env


@dataclass(frozen=True)
class NetworkVolume:
    """Storage that stays when pods end (billed per GB and month while it exists)."""

    provider: str
    id: str
    name: str
    size_gb: int
    data_center: str = ""


@dataclass
class Pod:
    provider: str
    id: str
    name: str
    state: PodState
    price_per_hour: float = 0.0
    gpu_name: str = ""
    gpu_count: int = 1
    uptime_seconds: float = 0.0
    raw_status: str = ""
    message: str = ""
    url: str | None = None
    seen_at: float = field(default_factory=time.monotonic)

    @property
    def cost_so_far(self) -> float:
        """Money spent on compute while running, from uptime × price (an estimate)."""
        return round(self.uptime_seconds / 3600 * self.price_per_hour, 4)
