"""Live painting benchmark (a section of scripts/bench.py).

A 1024² painting gets ``strokes`` dabs at ``rate`` per second from a Qt timer, in a real Qt
event loop (offscreen) with the docker's controller and live mode talking to a ComfyUI (the
fake one with a fixed time per step, or a real one). Measured:

- stroke-to-preview latency: for each stroke, the time until a live result that includes it is
  on the (fake) canvas, minus the server's compute time for that result (execution_start to
  execution_success in the server's history); and the same split into the parts the client
  controls (noticing the change, the quiet time) and the rest (transfer, queue, interrupt);
- how many live jobs were sent, how many the server ran to the end, interrupted or never
  started, versus strokes; and whether another client's job on the same server finished
  untouched;
- the time from the end of the quiet time (the request handed to the client; its images were
  usually sent ahead, halfway through the quiet time) to the result on the canvas, minus
  compute: what a round trip costs the painter after a pause;
- bytes the server received per stroke (uploads, graphs, polls).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

import aiohttp

CHECKPOINT = "random-sd15-tiny.safetensors"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def _get(url: str, path: str) -> Any:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + path) as r:
            return await r.json() if r.status == 200 else None


def _compute_s(history: dict[str, Any]) -> float | None:
    stamps = {m[0]: m[1].get("timestamp") for m in history.get("status", {}).get("messages", [])}
    start, end = stamps.get("execution_start"), stamps.get("execution_success")
    return (end - start) / 1000 if start and end else None


def live_latency(
    url: str,
    quiet_ms: int,
    strokes: int = 50,
    rate: float = 5.0,
    poll_ms: int = 50,
    canvas: int = 1024,
) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ai_diffusion import eventloop
    from ai_diffusion.comfy import ComfyClient, ServerConfig
    from ai_diffusion.comfy.events import Finished
    from ai_diffusion.qt import QtCore, QtWidgets
    from ai_diffusion.request import Bounds, Extent, GenerationRequest, Sampling
    from ai_diffusion.state.controller import Controller
    from ai_diffusion.state.live import LiveMode, LiveParams
    from tests.widgets.fake_document import FakeDocument, FakeDocuments

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    loop = eventloop.install(app, already_running=False)
    document = FakeDocument(width=canvas, height=canvas)
    document.pixels[...] = 255  # a sketch on white paper
    controller = Controller(FakeDocuments([document]))
    live = LiveMode(controller, debounce_ms=quiet_ms, poll_ms=poll_ms)
    stroke_at: dict[int, float] = {}  # stroke number → when it was painted
    read_at: dict[int, tuple[int, float]] = {}  # id(request) → (strokes it includes, when)
    job_strokes: dict[str, int] = {}  # job id → strokes it includes
    job_read: dict[str, float] = {}  # job id → when the canvas was read for it
    handed_at: dict[int, float] = {}  # id(request) → when the quiet time ended and it was sent
    job_handed: dict[str, float] = {}  # job id → the same, by job
    shown: list[tuple[str, float]] = []  # (job id, when its result was on the canvas)
    build, handle, pump = live.build_request, live.handle, live._run_pump

    read_s: list[float] = []

    def recording_build(doc: Any) -> Any:
        start = time.time()
        request, bounds = build(doc)
        read_at[id(request)] = (doc.strokes, time.time())  # after the read: sending starts
        read_s.append(time.time() - start)
        return request, bounds

    def recording_handle(event: Any) -> None:
        before = live.result
        handle(event)
        if isinstance(event, Finished) and live.result is not before:
            shown.append((event.job_id, time.time()))

    def recording_pump(client: Any, pending: Any) -> Any:
        handed_at[id(pending.request)] = time.time()  # the quiet time is over: send it
        return pump(client, pending)

    live._run_pump = recording_pump  # type: ignore[method-assign]
    live.build_request = recording_build  # type: ignore[method-assign]
    live.handle = recording_handle  # type: ignore[method-assign]
    rng = __import__("random").Random(5)

    def paint() -> None:
        n = document.strokes + 1
        x, y = rng.randrange(0, canvas - 24), rng.randrange(0, canvas - 24)
        document.paint(Bounds(x, y, 24, 24), (rng.randrange(256), 40, 90))
        stroke_at[n] = time.time()
        if n >= strokes:
            timer.stop()

    timer = QtCore.QTimer()
    timer.setInterval(int(1000 / rate))
    timer.timeout.connect(paint)
    other_job: list[str] = []

    async def scenario() -> dict[str, Any]:
        await controller._connect(ServerConfig(url))
        while controller.state != "connected":
            await asyncio.sleep(0.01)
        client = controller.client
        submit = client.submit

        async def recording_submit(request: Any, on_upload: Any = None) -> str:
            job_id = await submit(request, on_upload)
            job_strokes[job_id], job_read[job_id] = read_at[id(request)]
            job_handed[job_id] = handed_at.get(id(request), job_read[job_id])
            return job_id

        client.submit = recording_submit
        other = await ComfyClient.connect(ServerConfig(url))
        stats0 = await _get(url, "/_bench/stats")
        sent0 = client.traffic.sent
        QtCore.QTimer.singleShot(
            0, lambda: live.start(LiveParams(CHECKPOINT, "bench", strength=0.6, seed=1))
        )
        while not live.active:
            await asyncio.sleep(0.01)
        timer.start()
        while document.strokes < strokes // 2:
            await asyncio.sleep(0.01)
        other_job.append(
            await other.submit(
                GenerationRequest(
                    CHECKPOINT, "other", extent=Extent(64, 64), sampling=Sampling(steps=2)
                )
            )
        )
        deadline = time.time() + 240
        while time.time() < deadline:
            await asyncio.sleep(0.05)
            done = timer.isActive() is False and document.strokes >= strokes
            if done and shown and job_strokes.get(shown[-1][0]) == strokes and not live.busy:
                break
        stats1 = await _get(url, "/_bench/stats")
        sent = client.traffic.sent - sent0
        histories = {}
        for job_id in [*job_strokes, *other_job]:
            entry = (await _get(url, f"/history/{job_id}")) or {}
            histories[job_id] = entry.get(job_id)
        QtCore.QTimer.singleShot(0, live.stop)
        await asyncio.sleep(0.1)
        await other.close()
        await controller._disconnect()
        return {"histories": histories, "stats": (stats0, stats1), "sent": sent}

    data = loop.run_until_complete(scenario())
    histories = data["histories"]
    latencies, minus_compute, computes = [], [], []
    for n, t in stroke_at.items():
        cover = next(((j, s) for j, s in shown if job_strokes.get(j, 0) >= n), None)
        if cover is None:
            continue
        job_id, when = cover
        compute = _compute_s(histories.get(job_id) or {}) or 0.0
        latencies.append(when - t)
        minus_compute.append(when - t - compute)
        computes.append(compute)
    # Per shown result: canvas read (done) to result on the canvas, minus compute (upload,
    # queue, waiting for an earlier job, download, showing); and for the last stroke (the painter pauses) the time to
    # its preview minus compute and minus the quiet time.
    per_job, per_handed = [], []
    for job_id, when in shown:
        compute = _compute_s(histories.get(job_id) or {})
        if compute is not None:
            per_job.append(when - job_read[job_id] - compute)
            per_handed.append(when - job_handed[job_id] - compute)
    last = None
    if stroke_at and shown and job_strokes.get(shown[-1][0]) == len(stroke_at):
        compute = _compute_s(histories.get(shown[-1][0]) or {}) or 0.0
        last = shown[-1][1] - stroke_at[len(stroke_at)] - compute - quiet_ms / 1000
    statuses = {j: (h or {}).get("status", {}).get("status_str") for j, h in histories.items()}
    live_ids = list(job_strokes)
    ran = sum(1 for j in live_ids if statuses.get(j) == "success")
    interrupted = sum(1 for j in live_ids if statuses.get(j) == "error")
    never = sum(1 for j in live_ids if statuses.get(j) is None)
    stats0, stats1 = data["stats"]
    bytes_in = (stats1["bytes_in"] - stats0["bytes_in"]) if stats0 and stats1 else None
    ms = lambda v: round(v * 1000, 1)  # noqa: E731
    return {
        "quiet_ms": quiet_ms,
        "poll_ms": poll_ms,
        "strokes": len(stroke_at),
        "strokes_covered": len(latencies),
        "jobs_sent": len(live_ids),
        "jobs_ran": ran,
        "jobs_interrupted": interrupted,
        "jobs_removed_before_start": never,
        "results_shown": len(shown),
        "other_client_job": statuses.get(other_job[0]) if other_job else None,
        "compute_median_ms": ms(statistics.median(computes)) if computes else None,
        "latency_p50_ms": ms(percentile(latencies, 0.5)) if latencies else None,
        "latency_p95_ms": ms(percentile(latencies, 0.95)) if latencies else None,
        "minus_compute_p50_ms": ms(percentile(minus_compute, 0.5)) if latencies else None,
        "minus_compute_p95_ms": ms(percentile(minus_compute, 0.95)) if latencies else None,
        "sent_to_shown_minus_compute_p50_ms": ms(percentile(per_job, 0.5)) if per_job else None,
        "sent_to_shown_minus_compute_p95_ms": ms(percentile(per_job, 0.95)) if per_job else None,
        "handed_to_shown_minus_compute_p50_ms": ms(percentile(per_handed, 0.5))
        if per_handed
        else None,
        "handed_to_shown_minus_compute_p95_ms": ms(percentile(per_handed, 0.95))
        if per_handed
        else None,
        "last_stroke_minus_compute_and_quiet_ms": ms(last) if last is not None else None,
        "read_and_scale_p50_ms": ms(statistics.median(read_s)) if read_s else None,
        "bytes_sent_per_stroke": round(data["sent"] / max(1, len(stroke_at))),
        "canvas": canvas,
        "bytes_in_per_stroke": round(bytes_in / max(1, len(stroke_at))) if bytes_in else None,
        "uploads": (stats1["uploads"] - stats0["uploads"]) if stats0 and stats1 else None,
    }
