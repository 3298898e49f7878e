"""Reading ComfyUI's JSON answers: every shape either gives typed values or a typed error.

The shapes recorded from real servers (0.8.0 and 0.33.0) are in ``tests/data/comfyui/``. A
proxy, an older or newer server, or something that is not ComfyUI at all can answer anything;
the client reads answers only through these functions, so an odd shape ends in
:class:`ConnectionFailure` (or is tolerated where the value is only informational), never in a
``KeyError`` or ``AttributeError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import ConnectionFailure, FailureKind


def odd_answer(url: str, path: str, details: str = "") -> ConnectionFailure:
    return ConnectionFailure(
        FailureKind.NOT_COMFYUI,
        f"{url} answered {path} in a way ComfyUI does not. Check that the address points to "
        "ComfyUI (not another service on that port) and that ComfyUI is up to date.",
        details=details[:300],
    )


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int:
    """An integer from a JSON number (or numeric string); 0 for anything else."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value and abs(value) < 2**63:
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


def system_stats(body: Any, url: str) -> dict[str, Any]:
    """``/system_stats`` proves the server is ComfyUI: ``system`` an object, ``devices`` a list."""
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("system"), dict)
        or not isinstance(body.get("devices"), list)
    ):
        raise ConnectionFailure(
            FailureKind.NOT_COMFYUI,
            f"{url} answered, but it is not a ComfyUI server. Check the address and port.",
            details=repr(body)[:300],
        )
    return body


def object_info(body: Any, url: str) -> dict[str, Any]:
    """``/object_info`` with every node class the plugin could not read left out."""
    if not isinstance(body, dict):
        raise odd_answer(url, "/object_info", repr(body))
    classes: dict[str, Any] = {}
    for name, node in body.items():
        if not isinstance(node, dict):
            continue
        inputs = as_dict(node.get("input"))
        groups = {k: v for k, v in inputs.items() if isinstance(v, dict)}
        classes[str(name)] = {**node, "input": groups}
    return classes


def embeddings(body: Any, url: str) -> list[str]:
    if not isinstance(body, list):
        raise odd_answer(url, "/embeddings", repr(body))
    return [e for e in body if isinstance(e, str)]


def prompt_answer(body: Any, url: str) -> tuple[str, int]:
    """``POST /prompt`` → (prompt_id, number)."""
    answer = as_dict(body)
    prompt_id = answer.get("prompt_id")
    if not isinstance(prompt_id, str) or not prompt_id:
        raise odd_answer(url, "/prompt", repr(body))
    return prompt_id, as_int(answer.get("number"))


def upload_answer(body: Any, url: str) -> str:
    """``POST /upload/image`` → the server's name for the file (``subfolder/name``)."""
    answer = as_dict(body)
    name = answer.get("name")
    if not isinstance(name, str) or not name:
        raise odd_answer(url, "/upload/image", repr(body))
    subfolder = answer.get("subfolder")
    return f"{subfolder}/{name}" if isinstance(subfolder, str) and subfolder else name


@dataclass(frozen=True)
class Queue:
    running: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # in the order the server runs them

    def __contains__(self, job_id: object) -> bool:
        return job_id in self.running or job_id in self.pending

    def position(self, job_id: str) -> int:
        """Jobs ahead of ``job_id`` (0 when it runs, or is not in the queue)."""
        ids = self.running + self.pending
        return ids.index(job_id) if job_id in ids else 0


def queue(body: Any) -> Queue:
    """``GET /queue``. Items are ``[number, prompt_id, graph, extra, outputs]``; pending ones
    come in heap order, so they are sorted by number. Unreadable items are left out."""
    answer = as_dict(body)

    def items(key: str) -> list[tuple[int, str]]:
        found = []
        for item in as_list(answer.get(key)):
            if isinstance(item, list) and len(item) >= 2 and isinstance(item[1], str):
                found.append((as_int(item[0]), item[1]))
        return found

    pending = sorted(items("queue_pending"), key=lambda item: item[0])
    return Queue([i for _, i in items("queue_running")], [i for _, i in pending])


def history_entry(body: Any, job_id: str) -> dict[str, Any] | None:
    """The ``/history/{id}`` entry of ``job_id``, or None while the server has none."""
    entry = as_dict(body).get(job_id)
    return entry if isinstance(entry, dict) and entry else None


@dataclass(frozen=True)
class JobState:
    """One job as ``GET /api/jobs/{id}`` shows it: ``pending``, ``in_progress``, ``completed``,
    ``failed`` or ``cancelled``; once ended, ``entry`` has the shape of its history entry."""

    status: str
    entry: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


def job_state(body: Any, url: str) -> JobState:
    """Read ``GET /api/jobs/{id}``'s answer (200)."""
    job = as_dict(body)
    status = job.get("status")
    if not isinstance(status, str) or not status:
        raise odd_answer(url, "/api/jobs/{id}", "the job has no status")
    if status not in ("completed", "failed", "cancelled"):
        return JobState(status)
    outputs = job.get("outputs")
    execution = as_dict(job.get("execution_status"))
    if status == "cancelled" and not execution:  # the outcome must say so, whatever else
        execution = {"status_str": "error", "messages": [["execution_interrupted", {}]]}
    if status == "failed" and not execution:
        error = as_dict(job.get("execution_error"))
        execution = {"status_str": "error", "messages": [["execution_error", error]]}
    return JobState(status, {"outputs": as_dict(outputs), "status": execution})


def cancel_answer(body: Any) -> bool:
    """``POST /api/jobs/{id}/cancel``: whether a running or waiting job was stopped."""
    return as_dict(body).get("cancelled") is True


def images(output: Any) -> list[dict[str, Any]]:
    """Image references (``{filename, subfolder, type}``) of a node's output."""
    return [
        ref
        for ref in as_list(as_dict(output).get("images"))
        if isinstance(ref, dict) and isinstance(ref.get("filename"), str)
    ]


def output_images(entry: dict[str, Any], node: str) -> list[dict[str, Any]]:
    return images(as_dict(entry.get("outputs")).get(node))


@dataclass(frozen=True)
class Outcome:
    state: str  # "success", "error" or "interrupted"
    error: dict[str, Any] = field(default_factory=dict)


def outcome(entry: dict[str, Any]) -> Outcome:
    """How a history entry says its job ended."""
    status = as_dict(entry.get("status"))
    messages: dict[str, dict[str, Any]] = {}
    for message in as_list(status.get("messages")):
        if isinstance(message, list) and len(message) == 2 and isinstance(message[0], str):
            messages[message[0]] = as_dict(message[1])
    if status.get("status_str") == "error" or status.get("completed") is False:
        if "execution_interrupted" in messages:
            return Outcome("interrupted")
        return Outcome("error", messages.get("execution_error", {}))
    return Outcome("success")  # also an older server's entry without a status
