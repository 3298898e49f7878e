"""The fake ComfyUI answers as the recorded real servers did.

The capture that recorded each real server (``scripts/capture_comfyui.py``, ``tests/comfy_capture.py``)
runs against the fake started as that version, and the two recordings are compared: every
answer's status and shape (keys and value types, ids and node numbers aside), every refusal's
error type and sentences, and the websocket messages of a job. A fake that drifts from a
recorded server, or a new recording the fake does not follow, goes red here."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.captures import VERSIONS, capture
from tests.comfy_capture import Capture
from tests.comfy_capture import capture as record
from tests.comfy_fixtures import start_server
from tests.fakes.comfy_server import FakeComfy

ID = re.compile(r"^([0-9a-f-]{32,36}|\d+(:\d+)*)$")


def paths(value: Any, at: str = "") -> tuple[set[str], set[str]]:
    """``value`` as a set of ``path: type`` lines (ids and node numbers as keys count as one
    key, list items as ``[]``), and the paths of its empty lists."""
    if isinstance(value, dict):
        found, empty = {f"{at}: dict"}, set()
        for key, item in value.items():
            inner, inner_empty = paths(item, f"{at}.{'<id>' if ID.match(key) else key}")
            found |= inner
            empty |= inner_empty
        return found, empty
    if isinstance(value, list):
        found, empty = {f"{at}: list"}, set() if value else {at}
        for item in value:
            inner, inner_empty = paths(item, at + "[]")
            found |= inner
            empty |= inner_empty
        return found, empty
    kind = {bool: "bool", int: "number", float: "number", str: "str"}.get(type(value), "null")
    return {f"{at}: {kind}"}, set()


def same_shape(fake: Any, real: Any) -> tuple[set[str], set[str]]:
    """(paths only the fake has, paths only the real server has), leaving out what lies in a
    list that is empty on one side (a queue that was empty at that moment)."""
    fake_paths, fake_empty = paths(fake)
    real_paths, real_empty = paths(real)
    empty = fake_empty | real_empty

    def kept(path: str) -> bool:
        return not any(path.startswith(e + "[]") for e in empty)

    return ({p for p in fake_paths - real_paths if kept(p)},
            {p for p in real_paths - fake_paths if kept(p)})  # fmt: skip


@pytest.fixture(scope="module", params=VERSIONS)
def recordings(request: pytest.FixtureRequest) -> tuple[Capture, Capture]:
    import asyncio

    async def run() -> Capture:
        fake = FakeComfy.create(version=request.param)
        fake.preview_method = "none"  # as the real servers ran: previews asked for per job
        fake.faults.step_delay = 0.05  # a job lasts long enough to be seen running
        running = await start_server(fake)
        try:
            return await record(running.url)
        finally:
            await running.runner.cleanup()

    return capture(request.param), asyncio.run(run())


def test_the_same_version_and_the_same_requests(recordings: tuple[Capture, Capture]) -> None:
    real, fake = recordings
    assert fake.version == real.version
    assert sorted(fake.http) == sorted(real.http)
    assert sorted(fake.errors) == sorted(real.errors)
    assert sorted(fake.graphs) == sorted(real.graphs)


@pytest.mark.parametrize("key", sorted(capture().http))
def test_every_answer_has_the_recorded_status_and_shape(
    recordings: tuple[Capture, Capture], key: str
) -> None:
    real, fake = recordings
    if key not in real.http:
        pytest.skip(f"{real.version} was not asked {key}")
    assert fake.http[key]["status"] == real.http[key]["status"]
    assert same_shape(fake.http[key]["body"], real.http[key]["body"]) == (set(), set())


def _sentences(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    error = body.get("error")
    return (
        (error.get("type"), error.get("message")) if isinstance(error, dict) else error,
        {node: sorted((e["type"], e["message"]) for e in entry["errors"])
         for node, entry in (body.get("node_errors") or {}).items()},
    )  # fmt: skip


def test_every_refusal_is_the_recorded_one(recordings: tuple[Capture, Capture]) -> None:
    real, fake = recordings
    for case, answer in real.errors.items():
        got = fake.errors[case]
        assert (case, got["status"]) == (case, answer["status"])
        assert (case, _sentences(got["body"])) == (case, _sentences(answer["body"]))


def _job_messages(recording: Capture) -> dict[str, Any]:
    """Each message type of the recorded job (its prompt id) with the shape of its data, and
    the binary frames' events and metadata keys."""
    job = recording.http["POST /prompt"]["body"]["prompt_id"]
    types: dict[str, set[str]] = {}
    binary: set[str] = set()
    for frame in recording.transcript:
        if frame["kind"] == "binary":
            if frame.get("metadata", {}).get("prompt_id", job) == job:
                binary.add(json.dumps([frame.get("event"), sorted(frame.get("metadata", {}))]))
        elif isinstance(frame["data"], dict) and frame["data"].get("prompt_id") == job:
            data = {k: v for k, v in frame["data"].items() if k != "nodes"}
            types.setdefault(frame["type"], set()).update(paths(data)[0])
    return {"text": {t: sorted(s) for t, s in types.items()}, "binary": sorted(binary)}


def test_a_job_streams_the_recorded_messages(recordings: tuple[Capture, Capture]) -> None:
    real, fake = recordings
    assert _job_messages(fake) == _job_messages(real)
    assert fake.transcript[0]["type"] == real.transcript[0]["type"] == "status"
