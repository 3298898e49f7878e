"""Several backends used as one: two pods, a pod and a serverless endpoint, a Salad group.

Each job goes to the backend with the shortest expected wait (its jobs in flight × its recent
job time, plus its expected cold start); a batch can be split over backends, each part with its
own seed offset so no image repeats. When a backend loses a job (it disconnects, or reports a
failure that was not the job's fault) the part is sent to another backend with the same inputs
and seed. The painter sees one job: one Queued, one Started, then exactly one end, whose
images keep the batch order; :meth:`BackendPool.placement` says where each part ran.
Cancel reaches each part on its own backend, and nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..comfy.errors import ConnectionFailure
from ..comfy.events import (
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
from ..comfy.models import DeviceInfo, ServerModels
from ..errors import UserError
from ..request import GenerationRequest
from .contract import Backend, UploadProgress
from .tasks import stop_tasks

log = logging.getLogger(__name__)
Clock = Callable[[], float]
DEFAULT_JOB_SECONDS = 20.0  # before a backend has finished a job
REFUSED_PAUSE = 30.0  # seconds a server that could not take a job gets none


def member_name(config: Any) -> str:
    """How a member backend is named to the painter: its name, else its address."""
    return str(getattr(config, "name", "") or config.url)


@dataclass(frozen=True)
class PoolConfig:
    members: tuple[Any, ...]  # ServerConfig | RunPodServerlessConfig | SaladConfig

    kind = "pool"

    @property
    def url(self) -> str:
        return ", ".join(member_name(m) for m in self.members)


@dataclass
class Member:
    name: str  # shown to the painter: where a job ran
    backend: Backend
    job_seconds: float = DEFAULT_JOB_SECONDS  # recent seconds per image (moving average)
    in_flight: int = 0  # parts of this pool's jobs sent and not ended
    online: bool = True  # its connection is up (from its ConnectionState events)
    refused_at: float | None = None  # when a submit last failed to reach it

    def expected_wait(self, extra_images: int = 0) -> float:
        cold = float(getattr(self.backend, "start_delay_estimate", 0.0) or 0.0)
        return (self.in_flight + extra_images + 1) * self.job_seconds + (
            cold if self.in_flight == 0 else 0.0
        )


@dataclass
class Part:
    job_id: str  # the pool job it belongs to
    index: int  # position of its first image in the batch
    request: GenerationRequest
    member: Member
    remote_id: str = ""
    started: float = 0.0
    resent: int = 0


@dataclass
class PoolJob:
    parts: list[Part]
    images: dict[int, list[bytes]] = field(default_factory=dict)
    failures: list[Failed] = field(default_factory=list)
    interrupted: bool = False
    announced: set[str] = field(default_factory=set)

    def open_parts(self) -> list[Part]:
        done = set(self.images) | {p.index for p in self.parts if p.remote_id == "ended"}
        return [p for p in self.parts if p.index not in done]


class BackendPool:
    """Follows the backend contract; ``members`` are connected backends with a name each."""

    def __init__(
        self, members: Sequence[tuple[str, Backend]], *, clock: Clock = time.monotonic
    ) -> None:
        if not members:
            raise UserError("Add at least one server to the connection.")
        self.members = [Member(name, backend) for name, backend in members]
        self.clock = clock
        self.events: asyncio.Queue[JobEvent] = asyncio.Queue()
        self.config = PoolConfig(tuple(m.backend.config for m in self.members))
        self.models = self._merged_models()
        self._jobs: dict[str, PoolJob] = {}
        self._by_remote: dict[tuple[int, str], Part] = {}
        self._ended: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()
        self.resends = 0  # parts sent again elsewhere (diagnostics, drills)
        self._readers = [asyncio.create_task(self._read(m)) for m in self.members]

    # Models -------------------------------------------------------------------------------

    def _merged_models(self) -> ServerModels:
        """What the docker offers: every model some member has (jobs go only to members that
        have the chosen checkpoint, where they can tell)."""
        merged = ServerModels(device=DeviceInfo(name=", ".join(m.name for m in self.members)))
        for m in self.members:
            for name in ("checkpoints", "diffusion_models", "vaes", "loras", "controlnets",
                         "upscalers", "embeddings", "samplers", "schedulers"):  # fmt: skip
                target = getattr(merged, name)
                target.extend(x for x in getattr(m.backend.models, name) if x not in target)
        return merged

    async def refresh_models(self) -> ServerModels:
        for m in self.members:
            with contextlib.suppress(UserError):
                await m.backend.refresh_models()
        self.models = self._merged_models()
        return self.models

    # Placing jobs -------------------------------------------------------------------------

    def _candidates(
        self, request: GenerationRequest, exclude: Member | None = None
    ) -> list[Member]:
        now = self.clock()
        members = [
            m for m in self.members
            if m.online and m is not exclude
            and (m.refused_at is None or now - m.refused_at > REFUSED_PAUSE)
        ]  # fmt: skip
        if not members:
            members = [m for m in self.members if m is not exclude] or list(self.members)
        if request.checkpoint:
            having = [
                m for m in members
                if not m.backend.models.checkpoints and not m.backend.models.diffusion_models
                or request.checkpoint in m.backend.models.checkpoints
                or request.checkpoint in m.backend.models.diffusion_models
            ]  # fmt: skip
            members = having or members
        return members

    def plan(self, request: GenerationRequest) -> list[tuple[Member, int]]:
        """(member, images) for each part: images go one by one to whoever would deliver
        soonest, so equal backends share a batch and a slow or cold one gets less."""
        candidates = self._candidates(request)
        assigned = {id(m): 0 for m in candidates}
        for _ in range(request.sampling.batch_size):
            best = min(candidates, key=lambda m: m.expected_wait(assigned[id(m)]))
            assigned[id(best)] += 1
        return [(m, assigned[id(m)]) for m in candidates if assigned[id(m)]]

    async def submit(
        self, request: GenerationRequest, on_upload: UploadProgress | None = None
    ) -> str:
        job_id = f"pool-{uuid.uuid4().hex[:16]}"
        parts: list[Part] = []
        index = 0
        for member, images in self.plan(request):
            sampling = replace(
                request.sampling, batch_size=images, seed=request.sampling.seed + index
            )
            parts.append(Part(job_id, index, replace(request, sampling=sampling), member))
            index += images
        job = PoolJob(parts)
        self._jobs[job_id] = job
        for part in parts:
            try:
                await self._send(part, on_upload)
            except UserError as e:
                # Unreachable, or refusing (a model it lacks): try the others.
                if isinstance(e, ConnectionFailure):
                    part.member.refused_at = self.clock()  # try it again a little later
                if not await self._resend(part, e.message):
                    self._ended.add(job_id)
                    for sent in parts[: parts.index(part)]:
                        self._cancel_later(sent.member, sent.remote_id)
                    raise
        return job_id

    def _cancel_later(self, member: Member, remote_id: str) -> None:
        """Cancel a copy the pool no longer follows, without holding up its event stream."""

        async def cancel() -> None:
            with contextlib.suppress(UserError, OSError):
                await member.backend.cancel(remote_id)

        task = asyncio.create_task(cancel())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send(self, part: Part, on_upload: UploadProgress | None = None) -> None:
        member = part.member
        part.remote_id = await member.backend.submit(part.request, on_upload)
        part.started = self.clock()
        member.in_flight += 1
        self._by_remote[(id(member), part.remote_id)] = part
        log.info("%s part %d → %s (%s)", part.job_id, part.index, member.name, part.remote_id)

    def placement(self, job_id: str) -> list[str]:
        """Where the job's parts ran (or run), in batch order."""
        job = self._jobs.get(job_id)
        return [p.member.name for p in job.parts] if job else []

    def job_cost(self, job_id: str) -> float:
        """What the parts on per-second backends cost (0 for the others)."""
        job = self._jobs.get(job_id)
        if job is None:
            return 0.0
        return sum(
            float(getattr(p.member.backend, "job_cost", lambda _: 0.0)(p.remote_id))
            for p in job.parts
        )

    @property
    def session_cost(self) -> float:
        return sum(float(getattr(m.backend, "session_cost", 0.0)) for m in self.members)

    async def cancel(self, job_id: str) -> None:
        job = self._jobs.get(job_id)
        if job is None or job_id in self._ended:
            return  # not ours
        job.interrupted = True
        for part in job.open_parts():
            with contextlib.suppress(UserError):
                await part.member.backend.cancel(part.remote_id)

    async def close(self) -> None:
        await stop_tasks(self._readers)
        for m in self.members:
            with contextlib.suppress(Exception):
                await m.backend.close()

    # Events -------------------------------------------------------------------------------

    async def listen(self) -> AsyncIterator[JobEvent]:
        while True:
            yield await self.events.get()

    async def _read(self, member: Member) -> None:
        async for event in member.backend.listen():
            try:
                await self._on_event(member, event)
            except Exception:  # one bad event must not stop this member's stream
                log.exception("pool: event from %s", member.name)

    async def _on_event(self, member: Member, event: JobEvent) -> None:
        if isinstance(event, ConnectionState):
            await self._on_connection(member, event)
            return
        part = self._by_remote.get((id(member), event.job_id))
        if part is None:
            return  # a part already re-sent elsewhere, or not this pool's
        job = self._jobs[part.job_id]
        if isinstance(event, (Queued, Started)):
            kind = type(event).__name__
            if kind not in job.announced:
                job.announced.add(kind)
                message = f"{event.message} [{member.name}]".strip()
                if isinstance(event, Queued):
                    self.events.put_nowait(Queued(part.job_id, event.position, message))
                else:
                    self.events.put_nowait(Started(part.job_id, message))
        elif isinstance(event, Progress):
            self.events.put_nowait(Progress(part.job_id, event.step, event.total))
        elif isinstance(event, Preview):
            self.events.put_nowait(Preview(part.job_id, event.image, event.format))
        elif isinstance(event, Finished):
            self._part_done(part)
            elapsed = max(self.clock() - part.started, 0.0)
            per_image = elapsed / max(part.request.sampling.batch_size, 1)
            member.job_seconds = 0.5 * member.job_seconds + 0.5 * per_image
            job.images[part.index] = event.images
            self._maybe_end(part.job_id)
        elif isinstance(event, Failed):
            self._part_done(part)
            # A failure while the backend is unreachable is the connection's, not the job's.
            retry = event.retryable or not member.online or member.refused_at is not None
            if retry and not job.interrupted and await self._resend(part, event.message):
                return
            job.failures.append(event)
            part.remote_id = "ended"
            self._maybe_end(part.job_id)
        elif isinstance(event, Interrupted):
            self._part_done(part)
            part.remote_id = "ended"
            job.interrupted = True
            self._maybe_end(part.job_id)

    def _part_done(self, part: Part) -> None:
        self._by_remote.pop((id(part.member), part.remote_id), None)
        part.member.in_flight = max(part.member.in_flight - 1, 0)

    async def _on_connection(self, member: Member, event: ConnectionState) -> None:
        member.online = event.state == "connected"  # no new jobs while it reconnects
        if member.online:
            member.refused_at = None
        others = [m for m in self.members if m.online and m is not member]
        message = f"{member.name}: {event.message}".strip(": ")
        if event.state != "connected" and others:
            # The pool still works: the docker stays connected and says what happened.
            message += " The other servers take the new jobs."
            self.events.put_nowait(ConnectionState("connected", message))
        else:
            self.events.put_nowait(ConnectionState(event.state, message))
        if event.state == "connected":
            return
        if event.state == "disconnected":
            lost = [p for (mid, _), p in list(self._by_remote.items()) if mid == id(member)]
            for part in lost:  # its jobs are lost to the painter: run them elsewhere
                self._part_done(part)
                abandoned = part.remote_id
                job = self._jobs[part.job_id]
                if job.interrupted or not await self._resend(part, event.message):
                    job.failures.append(Failed(part.job_id, event.message, retryable=True))
                    part.remote_id = "ended"
                    self._maybe_end(part.job_id)
                else:
                    # Should the abandoned copy still finish, its result is not delivered twice
                    # (the pool no longer knows its id); it is cancelled once the server answers.
                    self._cancel_later(member, abandoned)

    async def _resend(self, part: Part, reason: str) -> bool:
        """Send the part to another backend with the same request (inputs and seed)."""
        if part.resent >= len(self.members):
            return False
        others = self._candidates(part.request, exclude=part.member)
        others = [m for m in others if m is not part.member]
        if not others:
            return False
        target = min(others, key=lambda m: m.expected_wait(part.request.sampling.batch_size))
        old = part.member.name
        part.member = target
        part.resent += 1
        self.resends += 1
        try:
            await self._send(part)
        except UserError as e:
            log.warning("pool: re-sending to %s failed: %s", target.name, e)
            return False
        log.info(
            "%s part %d re-sent from %s to %s: %s",
            part.job_id,
            part.index,
            old,
            target.name,
            reason,
        )
        return True

    def _maybe_end(self, job_id: str) -> None:
        job = self._jobs[job_id]
        if job_id in self._ended or job.open_parts():
            return
        self._ended.add(job_id)
        images = [image for index in sorted(job.images) for image in job.images[index]]
        if images:
            if job.failures:
                log.warning(
                    "%s: %d part(s) failed: %s", job_id, len(job.failures), job.failures[0].message
                )
            self.events.put_nowait(Finished(job_id, images))
        elif job.interrupted:
            self.events.put_nowait(Interrupted(job_id))
        else:
            first = job.failures[0] if job.failures else Failed(job_id, "The job failed.")
            self.events.put_nowait(
                Failed(job_id, first.message, first.node, first.details, first.retryable)
            )
