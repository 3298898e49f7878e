"""Typed events a client emits while jobs run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Queued:
    job_id: str
    position: int  # jobs ahead of this one (0 = next)
    message: str = ""  # what it waits for, where the backend knows (e.g. a cold start)


@dataclass(frozen=True)
class Started:
    job_id: str
    message: str = ""  # e.g. how long it waited for a serverless worker


@dataclass(frozen=True)
class Progress:
    job_id: str
    step: int
    total: int
    part: int = 0  # which of ``parts`` samplers runs (an upscale's tiles: 3 of 12); 0 = none
    parts: int = 0


@dataclass(frozen=True)
class Preview:
    job_id: str
    image: bytes = field(repr=False)
    format: str = "jpeg"  # "jpeg" or "png"


@dataclass(frozen=True)
class Finished:
    job_id: str
    images: list[bytes] = field(repr=False)


@dataclass(frozen=True)
class Failed:
    job_id: str
    message: str
    node: str | None = None
    details: str = ""
    # True when the job itself was fine but the server could not finish it (a replica or
    # worker vanished, the server lost it): running it elsewhere may succeed.
    retryable: bool = False


@dataclass(frozen=True)
class Interrupted:
    job_id: str


@dataclass(frozen=True)
class ConnectionState:
    state: str  # "connected", "reconnecting", "disconnected"
    message: str = ""


JobEvent = Queued | Started | Progress | Preview | Finished | Failed | Interrupted | ConnectionState
