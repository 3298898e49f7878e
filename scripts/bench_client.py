"""Client overhead per job for 512², 1024² and 2048² inputs (img2img: the input is uploaded,
the result of the same size downloaded).

    python scripts/bench_client.py [--server URL [--token T] [--insecure]] [--jobs N]

Without --server it starts the fake ComfyUI (tests/fakes/comfy_server.py) on loopback.
For each job: wall time from enqueue to the images in hand, minus the server's own time
(execution_start → execution_success timestamps in /history), is the client overhead
(upload, queueing round trips, websocket, download, decode of frames). Bytes are HTTP bodies
and websocket frames as the client counts them (ComfyClient.traffic). Peak memory is this
process's maximum resident set size (the fake server runs in its own process); the memory
one job allocates is traced separately (tracemalloc) on an extra, untimed job.
Every job uses a fresh image, so no upload is skipped by the client's deduplication.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from ai_diffusion.comfy import ComfyClient, ServerConfig  # noqa: E402
from ai_diffusion.comfy.events import Failed, Finished, Interrupted  # noqa: E402
from ai_diffusion.request import Extent, GenerationRequest, Image, Sampling  # noqa: E402
from ai_diffusion.workflow import build_workflow  # noqa: E402


@dataclass
class JobFigures:
    wall_s: float
    server_s: float
    sent: int
    received: int

    @property
    def overhead_s(self) -> float:
        return max(0.0, self.wall_s - self.server_s)


def start_fake() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.comfy_server", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "fake ComfyUI on http://127.0.0.1:PORT"
    if "http://" not in line:
        proc.kill()
        raise SystemExit("the fake ComfyUI did not start")
    return proc, line.split()[-1]


def photo_like_png(size: int, seed: int) -> Image:
    """A gradient with noise: compresses about as badly as a painting does."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    base = np.stack([ramp[None, :].repeat(size, 0), ramp[:, None].repeat(size, 1)], -1)
    rgb = np.concatenate([base, np.full((size, size, 1), 128, np.float32)], -1)
    rgb += rng.normal(0, 12, rgb.shape).astype(np.float32)
    buffer = io.BytesIO()
    PILImage.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(buffer, "PNG", compress_level=1)
    return Image.from_png(buffer.getvalue())


async def server_seconds(client: ComfyClient, job_id: str) -> float:
    async with client.session.get(client.config.endpoint(f"/history/{job_id}")) as response:
        entry: dict[str, Any] = (await response.json()).get(job_id, {})
    stamps = {m[0]: m[1].get("timestamp", 0) for m in entry.get("status", {}).get("messages", [])}
    start, end = stamps.get("execution_start"), stamps.get("execution_success")
    return (end - start) / 1000 if start and end else 0.0


async def run_job(client: ComfyClient, request: GenerationRequest) -> JobFigures:
    workflow = build_workflow(request, client.models.object_info)
    sent, received = client.traffic.sent, client.traffic.received
    start = time.perf_counter()
    job_id = await client.enqueue(workflow)
    async for event in client.listen():
        if isinstance(event, (Failed, Interrupted)) and event.job_id == job_id:
            raise SystemExit(f"job failed: {event}")
        if isinstance(event, Finished) and event.job_id == job_id:
            break
    wall = time.perf_counter() - start
    return JobFigures(
        wall,
        await server_seconds(client, job_id),
        client.traffic.sent - sent,
        client.traffic.received - received,
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def bench(config: ServerConfig, sizes: list[int], jobs: int, steps: int) -> list[dict]:
    client = await ComfyClient.connect(config)
    rows = []
    try:
        checkpoint = client.models.checkpoints[0]
        for size in sizes:
            figures = []
            peak_job = 0.0
            for i in range(jobs + 2):  # first: warm-up; last: memory traced (slower)
                request = GenerationRequest(
                    checkpoint=checkpoint,
                    prompt="benchmark",
                    extent=Extent(size, size),
                    image=photo_like_png(size, seed=size * 100 + i),
                    strength=0.5,
                    sampling=Sampling(steps=steps, seed=i),
                )
                if i == jobs + 1:
                    tracemalloc.start()
                    await run_job(client, request)
                    peak_job = tracemalloc.get_traced_memory()[1] / 2**20
                    tracemalloc.stop()
                    continue
                result = await run_job(client, request)
                if i:
                    figures.append(result)
            rows.append(
                {
                    "size": size,
                    "overhead_ms": statistics.median(f.overhead_s for f in figures) * 1000,
                    "overhead_max_ms": max(f.overhead_s for f in figures) * 1000,
                    "server_ms": statistics.median(f.server_s for f in figures) * 1000,
                    "up_kb": statistics.median(f.sent for f in figures) / 1024,
                    "down_kb": statistics.median(f.received for f in figures) / 1024,
                    "job_peak_mb": peak_job,
                    "peak_rss_mb": peak_rss_mb(),
                }
            )
    finally:
        await client.close()
    return rows


def print_table(rows: list[dict], jobs: int, where: str) -> None:
    print(f"client overhead per job, median of {jobs} (max), against {where}")
    print("job MiB: Python memory allocated at peak during one job (tracemalloc, incl. the")
    print("request's PNG); peak RSS: the whole benchmark process so far (incl. numpy test images)")
    print(
        f"{'input':>10} {'overhead ms':>12} {'(max)':>8} {'server ms':>10} "
        f"{'up KiB':>9} {'down KiB':>9} {'job MiB':>8} {'peak RSS MiB':>13}"
    )
    for r in rows:
        print(
            f"{r['size']:>5}x{r['size']:<4} {r['overhead_ms']:>12.1f} {r['overhead_max_ms']:>8.1f} "
            f"{r['server_ms']:>10.1f} {r['up_kb']:>9.0f} {r['down_kb']:>9.0f} "
            f"{r['job_peak_mb']:>8.1f} {r['peak_rss_mb']:>13.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server", help="a real ComfyUI (default: the fake one, on loopback)")
    parser.add_argument("--token", default=os.environ.get("AI_DIFFUSION_TOKEN"))
    parser.add_argument("--insecure", action="store_true", help="accept self-signed TLS")
    parser.add_argument("--jobs", type=int, default=5, help="jobs per size (after one warm-up)")
    parser.add_argument("--steps", type=int, default=1)
    parser.add_argument("--sizes", default="512,1024,2048")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    proc = None
    url = args.server
    if not url:
        proc, url = start_fake()
    try:
        config = ServerConfig(url, token=args.token, verify_tls=not args.insecure)
        rows = asyncio.run(bench(config, sizes, args.jobs, args.steps))
    finally:
        if proc is not None:
            proc.kill()
            proc.wait(10)
    print_table(rows, args.jobs, "the fake ComfyUI" if proc else "a real server")


if __name__ == "__main__":
    main()
