"""Renting a GPU: RunPod (REST v2) and vast.ai pods running ComfyUI, their cost, and readiness.

Async (aiohttp), no Qt, no Krita. API keys come in from the caller (keyring or environment)."""

from .endpoints import ProviderEndpoints
from .errors import (
    AuthError,
    Conflict,
    InsufficientFunds,
    InvalidRequest,
    NoCapacity,
    PodFailed,
    PodTokenRefused,
    ProviderError,
    RateLimited,
    ResumeRefused,
    TransientError,
)
from .idle import IdleAction, IdleWatch
from .models import GpuOption, Pod, PodSpec, PodState
from .provider import Provider, create_pod_with_fallback, find_orphans
from .readiness import wait_until_ready
from .runpod import RunPodProvider
from .vast import VastProvider

__all__ = [
    "AuthError",
    "Conflict",
    "GpuOption",
    "IdleAction",
    "IdleWatch",
    "InsufficientFunds",
    "InvalidRequest",
    "NoCapacity",
    "Pod",
    "PodFailed",
    "PodTokenRefused",
    "PodSpec",
    "PodState",
    "Provider",
    "ProviderEndpoints",
    "ProviderError",
    "RateLimited",
    "ResumeRefused",
    "RunPodProvider",
    "TransientError",
    "VastProvider",
    "create_pod_with_fallback",
    "find_orphans",
    "wait_until_ready",
]
