"""Async client for a ComfyUI server: connect to any URL, discover models, run jobs, stream
progress and previews, and lose no result when the connection drops. No Qt, no Krita."""

from .client import ComfyClient
from .config import ServerConfig, normalize_url, split_credentials, without_credentials
from .errors import ConnectionFailure, FailureKind, ServerRejected
from .events import (
    ConnectionState,
    Failed,
    Finished,
    Interrupted,
    JobEvent,
    Preview,
    Progress,
    Queued,
    Started,
)
from .models import DeviceInfo, ServerModels

__all__ = [
    "ComfyClient",
    "ConnectionFailure",
    "ConnectionState",
    "DeviceInfo",
    "Failed",
    "FailureKind",
    "Finished",
    "Interrupted",
    "JobEvent",
    "Preview",
    "Progress",
    "Queued",
    "ServerConfig",
    "ServerModels",
    "ServerRejected",
    "Started",
    "normalize_url",
    "split_credentials",
    "without_credentials",
]
