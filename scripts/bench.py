"""Benchmarks: client overhead, bytes on the wire, Qt event-loop stalls, model discovery, memory.

    python scripts/bench.py [--server URL] [--json bench-results.json] [--jobs N]

Without --server it starts the fake ComfyUI (tests/fakes/comfy_server.py) on loopback. Prints a
table and writes the figures as JSON. How to read them: docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import resource
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import aiohttp  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from ai_diffusion.comfy import ComfyClient, ServerConfig  # noqa: E402
from ai_diffusion.comfy.events import Finished  # noqa: E402
from ai_diffusion.request import Bounds, Extent, GenerationRequest, Image, Sampling  # noqa: E402
from ai_diffusion.workflow import build_workflow, inpaint_region  # noqa: E402
from tests.fake_serving import fake_in_process  # noqa: E402

CHECKPOINT = "random-sd15-tiny.safetensors"


class FakeServer:
    """The fake ComfyUI in its own process, until :meth:`close`."""

    def __init__(self, extra_models: int = 0, step_delay: float = 0.0) -> None:
        self._process = contextlib.ExitStack()
        options = ["--extra-models", str(extra_models), "--step-delay", str(step_delay)]
        self.url = self._process.enter_context(
            fake_in_process("tests.fakes.comfy_server", *options)
        )

    def close(self) -> None:
        self._process.close()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def painting(width: int, height: int, seed: int = 1) -> np.ndarray:
    """Something like a painting: smooth colour fields with brush-like noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([(x / width) * 200, (y / height) * 180, ((x + y) / (width + height)) * 220], -1)
    noise = rng.normal(0, 6, (height, width, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def inpaint_selection(canvas: np.ndarray) -> tuple[Bounds, np.ndarray, np.ndarray]:
    """A 512² selection at (1800, 1700) on a 4096² painting, as the plugin sends it: the region
    around the selection, the region's pixels and the selection's mask over them."""
    selection = Bounds(1800, 1700, 512, 512)
    region = inpaint_region(Extent(4096, 4096), selection)
    crop = canvas[region.y : region.y + region.height, region.x : region.x + region.width]
    mask = np.zeros(crop.shape[:2], np.uint8)
    top, left = selection.y - region.y, selection.x - region.x
    mask[top : top + 512, left : left + 512] = 255
    return region, crop, mask


# 1. Overhead versus a bare-bones client -----------------------------------------------------


async def bare_bones(
    url: str, graph: dict[str, Any], output_node: str, inputs: dict[str, bytes] | None = None
) -> tuple[str, list[bytes]]:
    """The least a script needs: upload the inputs, POST the graph, wait on the websocket,
    download the images. Returns the prompt id and the images."""
    client_id = uuid.uuid4().hex
    async with aiohttp.ClientSession() as session:
        for name, data in (inputs or {}).items():
            form = aiohttp.FormData()
            form.add_field("image", data, filename=name, content_type="image/png")
            form.add_field("overwrite", "true")
            async with session.post(url + "/upload/image", data=form) as r:
                await r.read()
        ws_url = url.replace("http", "ws", 1) + f"/ws?clientId={client_id}"
        async with session.ws_connect(ws_url, max_msg_size=0) as ws:
            body = {"prompt": graph, "client_id": client_id}
            async with session.post(url + "/prompt", json=body) as r:
                prompt_id = (await r.json())["prompt_id"]
            images: list[dict[str, Any]] = []
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                payload = data.get("data", {})
                if payload.get("prompt_id") != prompt_id:
                    continue
                if data["type"] == "executed" and payload.get("node") == output_node:
                    images += payload["output"]["images"]
                if data["type"] == "execution_success":
                    break
        results = []
        for ref in images:
            async with session.get(url + "/view", params=ref) as r:
                results.append(await r.read())
    return prompt_id, results


async def ours(client: ComfyClient, workflow: Any) -> list[bytes]:
    job = await client.enqueue(workflow)
    async for event in client.listen():
        if isinstance(event, Finished) and event.job_id == job:
            return event.images
    raise RuntimeError("no result")


async def overhead(url: str, jobs: int, size: int) -> dict[str, float]:
    client = await ComfyClient.connect(ServerConfig(url))
    try:
        request = GenerationRequest(
            checkpoint=client.models.checkpoints[0] if client.models.checkpoints else CHECKPOINT,
            prompt="bench", extent=Extent(size, size), sampling=Sampling(steps=2),
        )  # fmt: skip
        times: dict[str, list[float]] = {"bare": [], "ours": []}
        for i in range(jobs):
            workflow = build_workflow(
                GenerationRequest(**{**request.__dict__, "sampling": Sampling(steps=2, seed=i)}),
                client.models.object_info,
            )
            # Alternate which goes first so server warm-up favours neither.
            order = ("bare", "ours") if i % 2 else ("ours", "bare")
            for who in order:
                start = time.perf_counter()
                if who == "bare":
                    seeded = json.loads(json.dumps(workflow.graph))
                    for node in seeded.values():
                        if node["class_type"] == "KSampler":
                            node["inputs"]["seed"] += 10_000  # not cached by the server
                    await bare_bones(url, seeded, workflow.output_node)
                else:
                    await ours(client, workflow)
                times[who].append(time.perf_counter() - start)
        bare, mine = statistics.median(times["bare"]), statistics.median(times["ours"])
        return {"bare_s": round(bare, 4), "ours_s": round(mine, 4), "ratio": round(mine / bare, 3)}
    finally:
        await client.close()


# 2. Bytes on the wire ------------------------------------------------------------------------


async def server_bytes_in(url: str) -> int | None:
    """Request bytes the fake server has received (None for a real server)."""
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/_bench/stats") as r:
                return int((await r.json())["bytes_in"]) if r.status == 200 else None
    except (aiohttp.ClientError, ValueError, KeyError):
        return None


async def sent_for(client: ComfyClient, url: str, request: GenerationRequest) -> int:
    """Bytes the client sends for one job: measured by the fake server, else counted here
    (graph JSON plus every uploaded file)."""
    workflow = build_workflow(request, client.models.object_info)
    before = await server_bytes_in(url)
    await ours(client, workflow)
    after = await server_bytes_in(url)
    if before is not None and after is not None:
        return after - before
    return len(json.dumps(workflow.graph)) + sum(len(d) for d in workflow.inputs.values())


async def wire_bytes(url: str) -> dict[str, Any]:
    client = await ComfyClient.connect(ServerConfig(url))
    try:
        result: dict[str, Any] = {}
        txt = GenerationRequest(
            checkpoint=CHECKPOINT,
            prompt="bench",
            extent=Extent(1024, 1024),
            sampling=Sampling(steps=1),
        )
        result["txt2img_1024_upload_bytes"] = await sent_for(client, url, txt)

        canvas = painting(4096, 4096)
        region, crop, mask = inpaint_selection(canvas)
        crop_png, mask_png = png(crop), png(mask)
        request = GenerationRequest(
            checkpoint=CHECKPOINT, prompt="bench", sampling=Sampling(steps=1), region=region,
            image=Image.from_png(crop_png), mask=Image.from_png(mask_png),
        )  # fmt: skip
        uploaded = await sent_for(client, url, request)
        result.update(
            inpaint_canvas="4096x4096",
            inpaint_selection="512x512",
            inpaint_crop=f"{region.width}x{region.height}",
            inpaint_crop_png_bytes=len(crop_png),
            inpaint_upload_bytes=uploaded,
            inpaint_ratio_to_crop_png=round(uploaded / len(crop_png), 3),
            full_canvas_png_bytes=len(png(canvas)),
        )
        return result
    finally:
        await client.close()


# 3. Qt event loop stalls while previews stream -----------------------------------------------


def qt_stalls(url: str, seconds: float) -> dict[str, float]:
    """Run the docker's controller in a real Qt loop (offscreen) while the server streams
    previews at 10 per second, and measure how late a 5 ms timer fires."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from ai_diffusion import eventloop
    from ai_diffusion.qt import QtCore, QtWidgets
    from ai_diffusion.state.controller import Controller
    from ai_diffusion.state.params import GenerationRequest, Params, Sampling
    from tests.widgets.fake_document import FakeDocument, FakeDocuments

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    loop = eventloop.install(app, already_running=False)
    document = FakeDocument(width=512, height=512)
    controller = Controller(FakeDocuments([document]))
    previews: list[float] = []
    controller.preview.connect(lambda _: previews.append(time.perf_counter()))
    lateness: list[float] = []
    last = [time.perf_counter()]
    interval = 0.005

    def probe() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, now - last[0] - interval))
        last[0] = now

    timer = QtCore.QTimer()
    timer.timeout.connect(probe)

    async def scenario() -> None:
        await controller._connect(ServerConfig(url))
        steps = int(seconds * 10)
        timer.start(int(interval * 1000))
        # Generate as the button does: from a Qt callback, outside any task step.
        request = GenerationRequest(
            CHECKPOINT, "stall probe", sampling=Sampling(steps=steps, seed=1)
        )
        params = Params(request)
        QtCore.QTimer.singleShot(0, lambda: controller.generate(params))
        while not controller.jobs:
            await asyncio.sleep(0.01)
        deadline = time.perf_counter() + seconds * 3 + 10
        while controller.jobs and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        timer.stop()
        await controller._disconnect()

    loop.run_until_complete(scenario())
    values = sorted(lateness)
    rate = (len(previews) - 1) / (previews[-1] - previews[0]) if len(previews) > 1 else 0.0
    return {
        "previews": len(previews),
        "previews_per_s": round(rate, 1),
        "probe_samples": len(values),
        "stall_p50_ms": round(values[len(values) // 2] * 1000, 2),
        "stall_p99_ms": round(values[int(len(values) * 0.99)] * 1000, 2),
        "stall_max_ms": round(values[-1] * 1000, 2),
    }


# 4. Model discovery ----------------------------------------------------------------------------


async def discovery(url: str, repeats: int = 5) -> dict[str, Any]:
    times = []
    count = 0
    for _ in range(repeats):
        start = time.perf_counter()
        client = await ComfyClient.connect(ServerConfig(url))
        times.append(time.perf_counter() - start)
        count = len(client.models.checkpoints) + len(client.models.loras)
        await client.close()
    return {"model_files": count, "connect_and_discover_s": round(statistics.median(times), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--server", help="a real ComfyUI (default: the fake one on loopback)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--stream-seconds", type=float, default=5.0)
    parser.add_argument(
        "--sections",
        default="overhead,wire,qt_loop,discovery,live,link",
        help="comma-separated: overhead, wire, qt_loop, discovery, live, link",
    )
    parser.add_argument(
        "--live-step-delay", type=float, default=0.01, help="fake server seconds per step (live)"
    )
    parser.add_argument("--live-strokes", type=int, default=50)
    parser.add_argument(
        "--live-canvas", type=int, default=1024, help="side of the live painting (px)"
    )
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    results: dict[str, Any] = {"server": args.server or "fake ComfyUI (loopback)"}
    servers: list[FakeServer] = []
    try:
        if sections & {"overhead", "wire"}:
            url = args.server or (servers.append(FakeServer()) or servers[-1].url)
        if "overhead" in sections:
            size = 512 if args.server is None else 64
            results["overhead"] = asyncio.run(overhead(url, args.jobs, size))
        if "wire" in sections:
            results["wire"] = asyncio.run(wire_bytes(url))
        if "qt_loop" in sections:
            stream_url = args.server or (
                servers.append(FakeServer(step_delay=0.1)) or servers[-1].url
            )
            results["qt_loop"] = qt_stalls(stream_url, args.stream_seconds)
        if "discovery" in sections:
            discovery_url = args.server or (
                servers.append(FakeServer(extra_models=2500)) or servers[-1].url
            )
            results["discovery"] = asyncio.run(discovery(discovery_url))
        if "live" in sections:
            from bench_live import live_latency

            live_url = args.server or (
                servers.append(FakeServer(step_delay=args.live_step_delay)) or servers[-1].url
            )
            results["live"] = [
                live_latency(live_url, quiet, args.live_strokes, canvas=args.live_canvas)
                for quiet in (0, 300)
            ]
        if "link" in sections and args.server is None:  # the shaper needs a local server
            from bench_link import Link, encodings, live_through_link, through_link

            link_url = servers.append(FakeServer(step_delay=0.01)) or servers[-1].url
            results["link"] = asyncio.run(through_link(link_url, Link()))
            results["link_live"] = live_through_link(link_url, Link())
            results["link_encodings"] = encodings()
    finally:
        for server in servers:
            server.close()
    results["peak_memory_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.json.write_text(json.dumps(results, indent=2))
    print(f"benchmarks against {results['server']}")
    for name, value, target in table(results):
        print(f"  {name:<50}  {value:<50} {target}")
    print(f"written to {args.json}")
    return 0


def table(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if "overhead" in results:
        o = results["overhead"]
        rows.append(("client overhead vs bare-bones (median/job)", f"{o['ours_s'] * 1000:.1f} ms vs {o['bare_s'] * 1000:.1f} ms = ×{o['ratio']}", "≤ ×1.05"))  # fmt: skip
    if "wire" in results:
        w = results["wire"]
        rows += [
            ("txt2img 1024² upload", f"{w['txt2img_1024_upload_bytes']:,} B", "graph only"),
            ("inpaint 512² on 4096²: crop sent", w["inpaint_crop"], "not the canvas"),
            ("inpaint upload / crop PNG", f"{w['inpaint_upload_bytes']:,} B / {w['inpaint_crop_png_bytes']:,} B = ×{w['inpaint_ratio_to_crop_png']}", "≤ ×1.1"),
            ("whole canvas as PNG (not sent)", f"{w['full_canvas_png_bytes']:,} B", ""),
        ]  # fmt: skip
    if "qt_loop" in results:
        q = results["qt_loop"]
        rows.append(("Qt loop stall p50 / p99 / max", f"{q['stall_p50_ms']} / {q['stall_p99_ms']} / {q['stall_max_ms']} ms ({q['previews']} previews at {q['previews_per_s']}/s)", "p99 < 30 ms"))  # fmt: skip
    if "discovery" in results:
        d = results["discovery"]
        rows.append(("model discovery", f"{d['connect_and_discover_s'] * 1000:.0f} ms for {d['model_files']} files", "< 1 s"))  # fmt: skip
    for lv in results.get("live", []):
        quiet = f"live, quiet {lv['quiet_ms']} ms"
        rows += [
            (f"{quiet}: jobs sent / ran / interrupted / strokes", f"{lv['jobs_sent']} / {lv['jobs_ran']} / {lv['jobs_interrupted']} / {lv['strokes']}; other client's job: {lv['other_client_job']}", "other: success"),
            (f"{quiet}: stroke→preview − compute p50/p95", f"{lv['minus_compute_p50_ms']} / {lv['minus_compute_p95_ms']} ms (compute {lv['compute_median_ms']} ms)", ""),
            (f"{quiet}: read done→preview − compute p50/p95", f"{lv['sent_to_shown_minus_compute_p50_ms']} / {lv['sent_to_shown_minus_compute_p95_ms']} ms", ""),
            (f"{quiet}: quiet over→preview − compute p50/p95", f"{lv['handed_to_shown_minus_compute_p50_ms']} / {lv['handed_to_shown_minus_compute_p95_ms']} ms", "≤ RTT + 30 ms"),
            (f"{quiet}: last stroke→preview − compute − quiet", f"{lv['last_stroke_minus_compute_and_quiet_ms']} ms (read+scale {lv['read_and_scale_p50_ms']} ms)", ""),
            (f"{quiet}: bytes sent per stroke", f"{lv['bytes_sent_per_stroke']:,} B (server received {lv['bytes_in_per_stroke']} B/stroke, {lv['uploads']} uploads)", ""),
        ]  # fmt: skip
    if "link" in results:
        link = results["link"]
        rows.append(("over a home link", link["link"], ""))
        for name, r in link.items():
            if name == "link":
                continue
            rows.append((f"  {name}: ours / bare − compute", f"{r['ours_minus_compute_s']} / {r['bare_minus_compute_s']} s (×{r['ratio']}); link floor {r['link_floor_s']} s for {r['bytes_up']:,} B up", "≤ bare ×1.05"))  # fmt: skip
            rows.append((f"  {name}: first preview", f"{r['first_preview_s']} s (compute {r['compute_s']} s)", ""))  # fmt: skip
    if "link_live" in results:
        lv = results["link_live"]
        rows.append(("  live over the link: last stroke→preview − compute − quiet", f"{lv['last_stroke_minus_compute_and_quiet_ms']} ms (quiet over→preview − compute {lv['handed_to_shown_minus_compute_p50_ms']} ms)", "≤ RTT + 30 ms"))  # fmt: skip
    for name, row in results.get("link_encodings", {}).items():
        cells = ", ".join(
            f"{k} {v['bytes'] / 1e6:.2f} MB/{v['encode_ms']} ms" for k, v in row.items()
        )
        rows.append((f"  encodings, {name}", cells, "smallest lossless"))
    rows.append(("peak memory (this process)", f"{results['peak_memory_mb']} MB", ""))
    return rows


if __name__ == "__main__":
    sys.exit(main())
