"""Reading ComfyUI's answers (comfy/answers.py) on the recorded real servers' answers (the newest
recording) and their edges."""

from __future__ import annotations

from typing import Any

import pytest

from ai_diffusion.comfy import ConnectionFailure, FailureKind
from ai_diffusion.comfy import answers as a
from tests.captures import VERSIONS, capture
from tests.comfy_capture import INPUT_NAME

URL = "http://pod.example"


def captured(key: str) -> Any:
    return capture().http[key]["body"]


STATS = captured("GET /system_stats")
QUEUE = captured("GET /queue (running)")
HISTORY = captured("GET /history/{id}")
ENTRY_ID = next(iter(HISTORY))
ENTRY = HISTORY[ENTRY_ID]


def fails(read: Any, *args: Any) -> ConnectionFailure:
    with pytest.raises(ConnectionFailure) as error:
        read(*args)
    assert error.value.kind is FailureKind.NOT_COMFYUI
    assert URL in error.value.message
    return error.value


def test_system_stats_proves_comfyui() -> None:
    assert a.system_stats(STATS, URL) is STATS
    for body in (
        [STATS], {**STATS, "system": "x"}, {**STATS, "devices": {"a": 1}},
        {"system": STATS["system"]}, {"devices": []}, None,
    ):  # fmt: skip
        assert "not a ComfyUI server" in fails(a.system_stats, body, URL).message


def test_object_info_keeps_readable_classes_only() -> None:
    body = {
        "A": {"input": {"required": {"x": ["INT"]}, "optional": "odd"}, "output": ["IMAGE"]},
        "B": ["not", "a", "class"],
        "C": {"input": "odd"},
        "D": {"output": []},
    }
    info = a.object_info(body, URL)
    assert info == {
        "A": {"input": {"required": {"x": ["INT"]}}, "output": ["IMAGE"]},
        "C": {"input": {}},
        "D": {"output": [], "input": {}},
    }
    fails(a.object_info, ["A"], URL)


def test_embeddings_are_names() -> None:
    assert a.embeddings(["a", 1, None, "b"], URL) == ["a", "b"]
    assert a.embeddings([], URL) == []
    fails(a.embeddings, {"a": 1}, URL)


def test_prompt_answer() -> None:
    real = captured("POST /prompt")
    assert a.prompt_answer(real, URL) == (real["prompt_id"], real["number"])
    assert a.prompt_answer({"prompt_id": "p", "number": 7.0}, URL) == ("p", 7)
    assert a.prompt_answer({"prompt_id": "p", "number": "x"}, URL) == ("p", 0)
    for body in ({"prompt_id": ""}, {"prompt_id": 5}, {"number": 1}, [], None):
        assert "/prompt" in fails(a.prompt_answer, body, URL).message


def test_upload_answer() -> None:
    assert a.upload_answer(captured("POST /upload/image"), URL) == INPUT_NAME
    assert a.upload_answer({"name": "x.png", "subfolder": "masks"}, URL) == "masks/x.png"
    assert a.upload_answer({"name": "x.png", "subfolder": ""}, URL) == "x.png"
    assert a.upload_answer({"name": "x.png", "subfolder": 3}, URL) == "x.png"
    for body in ({"name": ""}, {"name": 1}, {}, "x.png"):
        assert "/upload/image" in fails(a.upload_answer, body, URL).message


def test_queue_sorts_pending_by_number_and_skips_odd_items() -> None:
    # The recorded queue while a job ran, with four waiting jobs made from its running item,
    # in ComfyUI's heap order: [-32, 29, 31, 30] is run order -32, 29, 30, 31 ("front" first).
    (running,) = QUEUE["queue_running"]
    pending = [[n, f"{n:04d}", *running[2:]] for n in (-32, 29, 31, 30)]
    queue = a.queue({**QUEUE, "queue_pending": pending})
    assert queue.running == [running[1]]
    assert queue.pending == ["-032", "0029", "0030", "0031"]
    assert queue.position(queue.running[0]) == 0
    assert queue.position(queue.pending[0]) == 1 and queue.position(queue.pending[3]) == 4
    assert queue.position("unknown") == 0
    assert "unknown" not in queue and queue.pending[2] in queue and queue.running[0] in queue
    odd = {"queue_running": [[1], "x", [2, 5]], "queue_pending": [[3, "b"], ["2", "a"], None]}
    assert a.queue(odd) == a.Queue([], ["a", "b"])
    assert a.queue([]) == a.Queue() == a.queue({"queue_running": "x"})


def test_history_entry_and_its_images() -> None:
    assert a.history_entry(HISTORY, ENTRY_ID) is ENTRY
    assert a.history_entry(HISTORY, "other") is None
    assert a.history_entry({ENTRY_ID: {}}, ENTRY_ID) is None
    assert a.history_entry({ENTRY_ID: []}, ENTRY_ID) is None
    assert a.history_entry([ENTRY], ENTRY_ID) is None
    assert a.output_images(ENTRY, "7") == ENTRY["outputs"]["7"]["images"]
    assert a.output_images(ENTRY, "8") == []
    assert a.images({"images": [{"filename": "a.png"}, {"filename": 3}, "b.png", {}]}) == [
        {"filename": "a.png"}
    ]
    assert a.images({"images": "a.png"}) == [] and a.images(None) == []


def test_outcome_of_a_history_entry() -> None:
    assert a.outcome(ENTRY) == a.Outcome("success")
    assert a.outcome({"outputs": {}}) == a.Outcome("success")  # an older server: no status
    error = {"node_type": "KSampler", "exception_message": "boom"}
    entry = {"status": {"status_str": "error", "completed": False,
                        "messages": [["execution_start", {}], ["execution_error", error]]}}  # fmt: skip
    assert a.outcome(entry) == a.Outcome("error", error)
    interrupted = {"status": {"status_str": "error", "completed": False,
                              "messages": [["execution_interrupted", {"node_id": "5"}]]}}  # fmt: skip
    assert a.outcome(interrupted) == a.Outcome("interrupted")
    assert a.outcome({"status": {"completed": False}}) == a.Outcome("error", {})
    assert a.outcome({"status": {"status_str": "error", "messages": [["x"], 5]}}).state == "error"


@pytest.mark.parametrize(
    ("value", "number"),
    [(3, 3), (3.9, 3), (-2, -2), ("12", 12), (" 4 ", 4), ("x", 0), (True, 0), (None, 0),
     (float("nan"), 0), (float("inf"), 0), (2.0**80, 0), ([1], 0)],
)  # fmt: skip
def test_as_int(value: Any, number: int) -> None:
    assert a.as_int(value) == number


@pytest.mark.parametrize("version", VERSIONS)
def test_a_job_from_the_jobs_api_settles_like_its_history(version: str) -> None:
    recorded = capture(version).http
    running = a.job_state(recorded["GET /api/jobs/{id} (running)"]["body"], URL)
    assert (running.status, running.entry, running.ended) == ("in_progress", None, False)
    done = a.job_state(recorded["GET /api/jobs/{id} (completed)"]["body"], URL)
    history = next(iter(recorded["GET /history/{id}"]["body"].values()))
    assert done.ended and done.entry is not None
    assert a.outcome(done.entry) == a.Outcome("success")
    assert a.output_images(done.entry, "7") == a.output_images(history, "7") != []
    stopped = a.job_state(recorded["GET /api/jobs/{id} (interrupted)"]["body"], URL)
    assert stopped.entry is not None and a.outcome(stopped.entry) == a.Outcome("interrupted")
    assert a.cancel_answer({"cancelled": True}) and not a.cancel_answer({"cancelled": "yes"})
    for odd in ({}, [], None, {"status": 3}):
        assert "/api/jobs" in fails(a.job_state, odd, URL).message
