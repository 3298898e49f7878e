"""Following this client's jobs through websocket messages; delivering results exactly once."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from . import answers
from .errors import ConnectionFailure, FailureKind
from .events import Failed, Finished, Interrupted, JobEvent, Preview, Progress, Started
from .load_errors import loader_failure
from .messages import Message, PreviewFrame

log = logging.getLogger(__name__)
OFFLINE = {FailureKind.REFUSED, FailureKind.DROPPED, FailureKind.TIMEOUT, FailureKind.DNS}


@dataclass
class Job:
    id: str
    output_node: str
    number: int
    started: bool = False
    images: list[dict[str, Any]] = field(default_factory=list)
    streamed: bool = False  # the output node sends its images over the websocket
    executing: str | None = None  # the node the server said it is running
    received: list[bytes] = field(default_factory=list, repr=False)  # streamed images
    parts: tuple[str, ...] = ()  # sampler nodes that are parts of the result (tiles), in order


class JobTracker:
    """State of every job this client queued and has not settled yet."""

    def __init__(
        self,
        emit: Callable[[JobEvent], None],
        fetch: Callable[[dict[str, Any]], Awaitable[bytes]],
        history: Callable[[str], Awaitable[dict[str, Any] | None]],
    ) -> None:
        self.emit = emit
        self.fetch = fetch
        self.history = history
        self.jobs: dict[str, Job] = {}
        self.fetch_retry_delays: tuple[float, ...] = (0.5, 1.0, 2.0)
        self.running: str | None = None  # job the server reports as executing
        # Messages for jobs not known yet: the server may report a job's start before the
        # answer to POST /prompt has reached us. Replayed when the job is added.
        self.unclaimed: deque[Message | PreviewFrame] = deque(maxlen=1000)

    async def add(
        self,
        job_id: str,
        output_node: str,
        number: int,
        streamed: bool = False,
        parts: tuple[str, ...] = (),
    ) -> None:
        self.jobs[job_id] = Job(job_id, output_node, number, streamed=streamed, parts=parts)
        early = [m for m in self.unclaimed if _prompt_id(m) == job_id]
        for item in early:
            self.unclaimed.remove(item)
            if isinstance(item, Message):
                await self.on_message(item)
            else:
                self.on_preview(item)

    def outstanding(self) -> list[str]:
        return sorted(self.jobs, key=lambda j: self.jobs[j].number)

    def end(self, job_id: str) -> bool:
        """Forget a job; True if it was still outstanding (so its end is reported once)."""
        if self.running == job_id:
            self.running = None
        return self.jobs.pop(job_id, None) is not None

    def _mark_started(self, job: Job, message: str = "") -> None:
        self.running = job.id
        if not job.started:
            job.started = True
            self.emit(Started(job.id, message))

    def started(self, job_id: str, message: str = "") -> None:
        """The server says the job runs (a detached job, followed by asking the server)."""
        job = self.jobs.get(job_id)
        if job is not None:
            self._mark_started(job, message)

    async def on_message(self, message: Message) -> None:
        data = message.data
        job = self.jobs.get(str(data.get("prompt_id", "")))
        if job is None:
            if data.get("prompt_id"):
                self.unclaimed.append(message)  # maybe ours, before POST /prompt answered
            return
        kind = message.type
        if kind in ("execution_start", "execution_cached", "executing"):
            if kind == "executing":
                node = data.get("node")
                job.executing = str(node) if node is not None else None
            self._mark_started(job)
        elif kind == "progress":
            self._mark_started(job)
            step, total = data.get("value"), data.get("max")
            if isinstance(step, int) and isinstance(total, int):
                node = str(data.get("node"))
                part = job.parts.index(node) + 1 if node in job.parts else 0
                self.emit(Progress(job.id, step, total, part, len(job.parts)))
        elif kind == "executed":
            if str(data.get("node")) == job.output_node:
                job.images.extend(answers.images(data.get("output")))
        elif kind == "execution_success":
            await self._finish(job)
        elif kind == "execution_error":
            if self.end(job.id):
                self.emit(_failure(job.id, data))
        elif kind == "execution_interrupted":
            if self.end(job.id):
                self.emit(Interrupted(job.id))

    def on_preview(self, preview: PreviewFrame) -> None:
        job_id = preview.prompt_id or self.running
        job = self.jobs.get(job_id) if job_id is not None else None
        if job is None:
            if preview.prompt_id:
                self.unclaimed.append(preview)
            return
        if job.streamed and (preview.node_id or job.executing) == job.output_node:
            job.received.append(preview.image)  # a result, not a step preview
            return
        self.emit(Preview(job.id, preview.image, preview.format))

    async def _finish(self, job: Job) -> None:
        refs = list(job.images)
        if self.jobs.pop(job.id, None) is None:
            return
        if self.running == job.id:
            self.running = None
        if job.streamed:
            self._finish_streamed(job)
            return
        error: Exception | None = None
        for delay in (*self.fetch_retry_delays, None):
            try:
                if not refs:  # the "executed" message was missed: ask the history
                    entry = await self.history(job.id) or {}
                    refs = answers.output_images(entry, job.output_node)
                images = [await self.fetch(ref) for ref in refs]
            except Exception as e:
                error = e
                log.warning("fetching results of %s failed: %s", job.id, e)
                if delay is not None:
                    await asyncio.sleep(delay)
                continue
            self.emit(Finished(job.id, images))
            return
        if isinstance(error, ConnectionFailure) and error.kind in OFFLINE:
            # The server is out of reach: keep the job; reconciling after the reconnect
            # downloads the images (they stay on the server's disk even across a restart).
            job.images = refs
            self.jobs[job.id] = job
            return
        names = ", ".join(str(r.get("filename")) for r in refs) or "unknown"
        self.emit(
            Failed(
                job.id,
                "The images were made but could not be downloaded from the server. They are "
                f"kept in ComfyUI's output folder ({names}); check the connection and try again.",
                details=repr(error),
            )
        )

    def _finish_streamed(self, job: Job) -> None:
        """Streamed results exist only as the frames that reached us: the server keeps no
        copy. Without them the job failed in a way that asking again repairs."""
        if job.received:
            self.emit(Finished(job.id, list(job.received)))
            return
        self.emit(
            Failed(
                job.id,
                "The result was lost on the way back (the connection dropped while it was "
                "sent). It is made again with the next change.",
                retryable=True,
            )
        )

    async def download_known_results(self, job_id: str) -> bool:
        """For a job the server no longer remembers (restarted after it finished): fetch the
        images whose names arrived before. False when there are none to fetch."""
        job = self.jobs.get(job_id)
        if job is None or not (job.images or job.received):
            return False
        await self._finish(job)
        return True

    async def settle_from_history(self, job_id: str, entry: dict[str, Any]) -> None:
        """Settle a job from its /history entry (after a reconnect)."""
        job = self.jobs.get(job_id)
        if job is None:
            return
        ended = answers.outcome(entry)
        if ended.state == "interrupted":
            if self.end(job_id):
                self.emit(Interrupted(job_id))
        elif ended.state == "error":
            if self.end(job_id):
                self.emit(_failure(job_id, ended.error))
        else:
            job.images = answers.output_images(entry, job.output_node)
            await self._finish(job)


def _prompt_id(item: Message | PreviewFrame) -> str | None:
    if isinstance(item, Message):
        value = item.data.get("prompt_id")
        return str(value) if value else None
    return item.prompt_id


def _failure(job_id: str, data: dict[str, Any]) -> Failed:
    node_type = str(data.get("node_type") or "a node")
    exception = str(data.get("exception_message") or "unknown error").strip()
    lower = exception.lower()
    if "out of memory" in lower or "outofmemory" in str(data.get("exception_type", "")).lower():
        message = (
            "The server's GPU ran out of memory. Use a smaller image or batch, or rent a GPU "
            "with more VRAM."
        )
    else:
        message = loader_failure(data) or (
            f"Generation failed on the server in {node_type}: {exception}"
        )
    node = data.get("node_id")
    return Failed(job_id, message, str(node) if node is not None else None, exception)
