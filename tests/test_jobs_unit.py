"""JobTracker on its own: every job ends exactly once, its images are fetched once, and a job
that ended is forgotten (fast checks; the protocol tests run the same through the fake)."""

from __future__ import annotations

from typing import Any

import pytest

from ai_diffusion.comfy import ConnectionFailure, FailureKind
from ai_diffusion.comfy.events import (
    Failed,
    Finished,
    Interrupted,
    JobEvent,
    Preview,
    Progress,
    Started,
)
from ai_diffusion.comfy.jobs import JobTracker
from ai_diffusion.comfy.messages import Message, PreviewFrame

REF = {"filename": "out_1.png", "subfolder": "", "type": "output"}


class Server:
    """What the tracker asks the server: image bytes and history entries."""

    def __init__(self) -> None:
        self.history: dict[str, Any] = {}
        self.fetched: list[dict[str, Any]] = []
        self.failures: list[Exception] = []

    async def fetch(self, ref: dict[str, Any]) -> bytes:
        if self.failures:
            raise self.failures.pop(0)
        self.fetched.append(ref)
        return f"png:{ref['filename']}".encode()

    async def read_history(self, job_id: str) -> dict[str, Any] | None:
        return self.history.get(job_id)


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
async def tracker(server: Server) -> JobTracker:
    events: list[JobEvent] = []
    t = JobTracker(events.append, server.fetch, server.read_history)
    t.fetch_retry_delays = (0.0,)
    t.events = events  # type: ignore[attr-defined]
    await t.add("a", "9", 1)
    return t


def msg(kind: str, **data: Any) -> Message:
    return Message(kind, {"prompt_id": "a", **data})


def ends(t: JobTracker) -> list[JobEvent]:
    return [e for e in t.events if isinstance(e, (Finished, Failed, Interrupted))]  # type: ignore[attr-defined]


async def test_the_whole_sequence(tracker: JobTracker, server: Server) -> None:
    for m in (msg("execution_start"), msg("execution_cached"), msg("executing", node="5"),
              msg("progress", value=1, max=2), msg("progress", value=2, max=2),
              msg("executed", node="7", output={"images": [{"filename": "x.png"}]}),
              msg("executed", node="9", output={"images": [REF]}), msg("execution_success")):  # fmt: skip
        await tracker.on_message(m)
    events = tracker.events  # type: ignore[attr-defined]
    assert events == [
        Started("a"),
        Progress("a", 1, 2),
        Progress("a", 2, 2),
        Finished("a", [b"png:out_1.png"]),
    ]
    assert server.fetched == [REF]  # only the output node's images
    assert tracker.outstanding() == [] and tracker.running is None
    await tracker.on_message(msg("execution_success"))  # a repeat changes nothing
    assert len(ends(tracker)) == 1


async def test_progress_needs_numbers_and_marks_the_start(tracker: JobTracker) -> None:
    await tracker.on_message(msg("progress", value="1", max=2))
    await tracker.on_message(msg("progress", value=1, max=2))
    assert tracker.events == [Started("a"), Progress("a", 1, 2)]  # type: ignore[attr-defined]
    assert tracker.running == "a"


@pytest.mark.parametrize(
    ("message", "event"),
    [
        (msg("execution_error", node_type="KSampler", exception_message="boom", node_id="5"),
         Failed("a", "Generation failed on the server in KSampler: boom", "5", "boom")),
        (msg("execution_interrupted"), Interrupted("a")),
    ],
)  # fmt: skip
async def test_errors_and_interrupts_end_the_job_once(
    tracker: JobTracker, message: Message, event: JobEvent
) -> None:
    await tracker.on_message(msg("execution_start"))
    await tracker.on_message(message)
    await tracker.on_message(message)
    assert ends(tracker) == [event]
    assert tracker.running is None and tracker.outstanding() == []


async def test_messages_of_other_jobs_are_kept_until_the_job_is_added(
    tracker: JobTracker,
) -> None:
    early = [Message("execution_start", {"prompt_id": "b"}),
             Message("progress", {"prompt_id": "b", "value": 1, "max": 3})]  # fmt: skip
    for m in early:
        await tracker.on_message(m)
    await tracker.on_message(Message("executing", {"node": "3"}))  # no prompt_id: dropped
    tracker.on_preview(PreviewFrame(b"jpg", "jpeg", "b"))
    assert tracker.events == []  # type: ignore[attr-defined]
    assert len(tracker.unclaimed) == 3
    await tracker.add("b", "9", 2)
    assert tracker.events == [  # type: ignore[attr-defined]
        Started("b"),
        Progress("b", 1, 3),
        Preview("b", b"jpg", "jpeg"),
    ]
    assert not tracker.unclaimed
    assert tracker.outstanding() == ["a", "b"]  # by queue number


async def test_previews_without_a_job_id_go_to_the_running_job(tracker: JobTracker) -> None:
    tracker.on_preview(PreviewFrame(b"1", "jpeg"))
    assert tracker.events == []  # type: ignore[attr-defined]  # nothing runs yet
    await tracker.on_message(msg("executing", node="5"))
    tracker.on_preview(PreviewFrame(b"2", "png"))
    assert tracker.events[-1] == Preview("a", b"2", "png")  # type: ignore[attr-defined]


async def test_missed_executed_message_asks_the_history(
    tracker: JobTracker, server: Server
) -> None:
    server.history["a"] = {"outputs": {"9": {"images": [REF]}}}
    await tracker.on_message(msg("execution_success"))
    assert ends(tracker) == [Finished("a", [b"png:out_1.png"])]


async def test_download_is_retried_then_reported_with_the_file_names(
    tracker: JobTracker, server: Server
) -> None:
    await tracker.on_message(msg("executed", node="9", output={"images": [REF]}))
    server.failures = [RuntimeError("500")]
    await tracker.on_message(msg("execution_success"))
    assert ends(tracker) == [Finished("a", [b"png:out_1.png"])]  # the retry worked
    await tracker.add("c", "9", 3)
    await tracker.on_message(Message("executed", {"prompt_id": "c", "node": "9",
                                                  "output": {"images": [REF]}}))  # fmt: skip
    server.failures = [RuntimeError("500"), RuntimeError("500")]
    await tracker.on_message(Message("execution_success", {"prompt_id": "c"}))
    failed = ends(tracker)[-1]
    assert isinstance(failed, Failed) and "out_1.png" in failed.message
    assert tracker.outstanding() == []


async def test_an_unreachable_server_keeps_the_job_for_later(
    tracker: JobTracker, server: Server
) -> None:
    await tracker.on_message(msg("executed", node="9", output={"images": [REF]}))
    offline = ConnectionFailure(FailureKind.REFUSED, "down")
    server.failures = [offline, offline]
    await tracker.on_message(msg("execution_success"))
    assert ends(tracker) == [] and tracker.outstanding() == ["a"]
    assert await tracker.download_known_results("a")  # back: the names are known
    assert ends(tracker) == [Finished("a", [b"png:out_1.png"])]
    assert not await tracker.download_known_results("a")  # forgotten once delivered


async def test_images_found_in_the_history_are_kept_while_the_server_is_away(
    tracker: JobTracker, server: Server
) -> None:
    server.history["a"] = {"outputs": {"9": {"images": [REF]}}}  # "executed" was missed
    offline = ConnectionFailure(FailureKind.DROPPED, "cut")
    server.failures = [offline, offline]
    await tracker.on_message(msg("execution_success"))
    server.history.clear()  # the server restarted meanwhile: the names are all that is left
    assert await tracker.download_known_results("a")
    assert ends(tracker) == [Finished("a", [b"png:out_1.png"])]


async def test_download_known_results_needs_known_images(tracker: JobTracker) -> None:
    assert not await tracker.download_known_results("a")
    assert not await tracker.download_known_results("nope")
    assert tracker.outstanding() == ["a"]


@pytest.mark.parametrize(
    ("entry", "event"),
    [
        ({"outputs": {"9": {"images": [REF]}}, "status": {"status_str": "success",
          "completed": True, "messages": []}}, Finished("a", [b"png:out_1.png"])),
        ({"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": [
          ["execution_interrupted", {"prompt_id": "a"}]]}}, Interrupted("a")),
        ({"outputs": {}, "status": {"status_str": "error", "completed": False, "messages": [
          ["execution_error", {"node_type": "VAEDecode", "exception_message": "oom"}]]}},
         Failed("a", "Generation failed on the server in VAEDecode: oom", None, "oom")),
    ],
)  # fmt: skip
async def test_settling_from_history_ends_the_job_exactly_once(
    tracker: JobTracker, entry: dict[str, Any], event: JobEvent
) -> None:
    await tracker.on_message(msg("executing", node="5"))
    await tracker.settle_from_history("a", entry)
    await tracker.settle_from_history("a", entry)
    assert ends(tracker) == [event]
    assert tracker.outstanding() == [] and tracker.running is None
    await tracker.settle_from_history("unknown", entry)
    assert len(ends(tracker)) == 1


def test_end_reports_whether_the_job_was_open() -> None:
    t = JobTracker(lambda e: None, Server().fetch, Server().read_history)
    t.jobs["x"] = __import__("ai_diffusion.comfy.jobs", fromlist=["Job"]).Job("x", "9", 0)
    t.running = "x"
    assert t.end("x") is True and t.running is None
    assert t.end("x") is False
    t.running = "y"
    t.end("x")
    assert t.running == "y"


async def test_out_of_memory_is_said_in_words(tracker: JobTracker) -> None:
    await tracker.on_message(
        msg("execution_error", exception_type="torch.OutOfMemoryError", exception_message="x")
    )
    (failed,) = ends(tracker)
    assert isinstance(failed, Failed) and "ran out of memory" in failed.message


async def test_a_streamed_result_is_delivered_not_shown_as_a_preview(server: Server) -> None:
    """SaveImageWebsocket's images come the way step previews do; the tracker tells them apart
    by the node that sent them, with metadata (event 4) or without (event 1, older servers)."""
    events: list[JobEvent] = []
    t = JobTracker(events.append, server.fetch, server.read_history)
    await t.add("a", "9", 1, streamed=True)
    await t.on_message(msg("executing", node="3"))
    t.on_preview(PreviewFrame(b"step", "jpeg", "a", "3"))
    await t.on_message(msg("executing", node="9"))
    t.on_preview(PreviewFrame(b"result-old-style", "png"))  # no metadata: the running node
    t.on_preview(PreviewFrame(b"result", "png", "a", "9"))
    await t.on_message(msg("execution_success"))
    assert [type(e) for e in events] == [Started, Preview, Finished]
    assert events[1].image == b"step"
    assert events[2].images == [b"result-old-style", b"result"]
    assert server.fetched == []  # nothing to download


async def test_a_streamed_job_without_its_images_fails_retryably(server: Server) -> None:
    events: list[JobEvent] = []
    t = JobTracker(events.append, server.fetch, server.read_history)
    await t.add("a", "9", 1, streamed=True)
    await t.on_message(msg("execution_success"))
    assert len(events) == 1 and isinstance(events[0], Failed)
    assert events[0].retryable and "made again" in events[0].message
