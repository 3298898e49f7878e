"""Over a home connection (a section of scripts/bench.py): jobs through the link shaper.

For txt2img 1024², img2img of a 2048² canvas and inpaint of a 512² selection on a 4096² canvas,
the plugin's client and a bare-bones script (upload, POST /prompt, websocket wait, GET /view)
run the same graph through the same shaped link; reported: wall time minus the server's compute
(from its history), the bytes each way, and the floor the link allows for those bytes (their
transfer time at the capped rates plus the round trips a job needs at least). Also the time to
the first step preview.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import numpy as np
from bench import CHECKPOINT, bare_bones, inpaint_selection, painting, png
from bench_live import _compute_s, _get
from link_shaper import Link, LinkShaper

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Finished, Preview
from ai_diffusion.request import Extent, GenerationRequest, Image, Sampling
from ai_diffusion.workflow import build_workflow

MIN_ROUND_TRIPS = 3  # POST /prompt, the result message, GET /view (uploads add one each)


def requests() -> dict[str, GenerationRequest]:
    sampling = Sampling(steps=4, seed=1)
    canvas = painting(2048, 2048, seed=2)
    region, crop, mask = inpaint_selection(painting(4096, 4096, seed=3))
    return {
        "txt2img 1024²": GenerationRequest(
            CHECKPOINT, "bench", extent=Extent(1024, 1024), sampling=sampling
        ),
        "img2img 2048² canvas": GenerationRequest(
            CHECKPOINT,
            "bench",
            sampling=sampling,
            image=Image.from_png(png(canvas)),
            strength=0.5,
        ),  # fmt: skip
        "inpaint on 4096² canvas": GenerationRequest(
            CHECKPOINT,
            "bench",
            sampling=sampling,
            image=Image.from_png(png(crop)),
            mask=Image.from_png(png(mask)),
            region=region,
        ),  # fmt: skip
    }


async def ours(client: ComfyClient, request: GenerationRequest) -> tuple[str, float | None, int]:
    start = time.perf_counter()
    job = await client.submit(request)
    first_preview = None
    async for event in client.listen():
        if isinstance(event, Preview) and event.job_id == job and first_preview is None:
            first_preview = time.perf_counter() - start
        if isinstance(event, Finished) and event.job_id == job:
            return job, first_preview, sum(len(i) for i in event.images)
    raise RuntimeError("no result")


async def through_link(direct_url: str, link: Link) -> dict[str, Any]:
    host, port = direct_url.removeprefix("http://").split(":")
    shaper = await LinkShaper(host, int(port), link).start()
    results: dict[str, Any] = {"link": link.describe()}
    client = await ComfyClient.connect(ServerConfig(shaper.url))
    try:
        for i, (name, request) in enumerate(requests().items()):
            workflow = build_workflow(request, client.models.object_info)
            graph = json.loads(json.dumps(workflow.graph))
            for node in graph.values():
                if node["class_type"] == "KSampler":
                    node["inputs"]["seed"] += 10_000 + i  # a different job, same work
            start = time.perf_counter()
            bare_id, _ = await bare_bones(shaper.url, graph, workflow.output_node, workflow.inputs)
            bare_s = time.perf_counter() - start
            sent0 = client.traffic.sent
            start = time.perf_counter()
            job, first_preview, result_bytes = await ours(client, request)
            ours_s = time.perf_counter() - start
            sent = client.traffic.sent - sent0
            history = await _get(direct_url, f"/history/{job}")
            bare_history = await _get(direct_url, f"/history/{bare_id}")
            compute = _compute_s((history or {}).get(job) or {}) or 0.0
            bare_compute = _compute_s((bare_history or {}).get(bare_id) or {}) or 0.0
            uploads = len(workflow.inputs)
            floor = (
                sent * 8 / link.up_bps
                + result_bytes * 8 / link.down_bps
                + (MIN_ROUND_TRIPS + uploads) * link.rtt_s
            )
            bare_minus = bare_s - bare_compute
            results[name] = {
                "ours_minus_compute_s": round(ours_s - compute, 3),
                "bare_minus_compute_s": round(bare_minus, 3),
                "ratio": round((ours_s - compute) / bare_minus, 3) if bare_minus > 0 else None,
                "compute_s": round(compute, 3),
                "bytes_up": sent,
                "bytes_down_results": result_bytes,
                "link_floor_s": round(floor, 3),
                "first_preview_s": round(first_preview, 3) if first_preview else None,
            }
    finally:
        await client.close()
        await shaper.close()
    return results


def live_through_link(direct_url: str, link: Link) -> dict[str, Any]:
    """The live benchmark with the server behind the shaped link."""
    from bench_live import live_latency

    loop = asyncio.new_event_loop()
    host, port = direct_url.removeprefix("http://").split(":")
    shaper = loop.run_until_complete(LinkShaper(host, int(port), link).start())
    # The shaper runs on its own loop in a thread: the live benchmark owns the Qt loop.
    import threading

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        return live_latency(shaper.url, 300)
    finally:
        loop.call_soon_threadsafe(loop.stop)


def encodings() -> dict[str, Any]:
    """Bytes and encode time of the lossless encodings ComfyUI's LoadImage reads (PIL opens
    PNG and WebP), for the 2048² canvas, the same canvas at SD 1.5's native 512² and the
    inpaint crop; the upload time is at 20 Mbit/s."""
    import io

    from PIL import Image as PILImage

    canvas = painting(2048, 2048, seed=2)
    images = {
        "canvas 2048²": canvas,
        "canvas scaled to 512²": np.asarray(PILImage.fromarray(canvas).resize((512, 512))),
        "inpaint crop 928²": painting(4096, 4096, seed=3)[1500:2428, 1500:2428],
    }
    out: dict[str, Any] = {}
    for name, array in images.items():
        row = {}
        for label, options in (
            ("png1", {"format": "PNG", "compress_level": 1}),
            ("png6", {"format": "PNG", "compress_level": 6}),
            ("png9", {"format": "PNG", "compress_level": 9}),
            ("webp_lossless", {"format": "WEBP", "lossless": True, "quality": 100, "method": 4}),
        ):
            buffer = io.BytesIO()
            start = time.perf_counter()
            PILImage.fromarray(array).save(buffer, **options)
            seconds = time.perf_counter() - start
            size = len(buffer.getvalue())
            row[label] = {
                "bytes": size,
                "encode_ms": round(seconds * 1000),
                "upload_ms_20mbit": round(size * 8 / 20e6 * 1000),
            }
        out[name] = row
    return out
