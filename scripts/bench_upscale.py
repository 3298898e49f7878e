"""Benchmark: bytes on the wire for an upscale with a tiled refine, against the pictures.

    python scripts/bench_upscale.py [--server URL] [--size 2048] [--factor 2] [--json FILE]

A 2048² painting upscaled ×2 with a refine (SD1.5's 512 px tiles, 96 px overlap, the family's
20 steps, step previews on as in the docker): one job on the server does every tile, so only
the source goes up and only the result comes down. Prints the bytes the client sent and
received (HTTP bodies and websocket frames, ``client.traffic``) against the source and result
PNG sizes; the goal is at most ×1.05. Without --server it starts the fake ComfyUI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import FakeServer, painting, png  # noqa: E402

from ai_diffusion.comfy import ComfyClient, ServerConfig  # noqa: E402
from ai_diffusion.comfy.events import Failed, Finished, Progress  # noqa: E402
from ai_diffusion.request import GenerationRequest, Image, Sampling, UpscaleRef  # noqa: E402
from ai_diffusion.workflow import build_workflow  # noqa: E402

CHECKPOINT = "random-sd15-tiny.safetensors"
UPSCALER = "random-compact-4x.safetensors"


async def measure(url: str, size: int, factor: float, steps: int, seed: int = 1) -> dict[str, Any]:
    source = png(painting(size, size))
    request = GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="a painting, detailed",
        sampling=Sampling(steps=steps, seed=seed),
        image=Image.from_png(source),
        upscale=UpscaleRef(UPSCALER, factor=factor, refine=0.35, tile_overlap=96),
    )
    client = await ComfyClient.connect(ServerConfig(url))
    try:
        workflow = build_workflow(request, client.models.object_info, client.models.version)
        client.traffic.sent = client.traffic.received = 0
        started = time.perf_counter()
        job = await client.enqueue(workflow)
        steps_heard = 0  # step messages that reached the client (none for a detached job)
        result: bytes | None = None
        async for event in client.listen():
            if isinstance(event, Progress):
                steps_heard += 1
            elif isinstance(event, Finished) and event.job_id == job:
                (result,) = event.images
                break
            elif isinstance(event, Failed) and event.job_id == job:
                raise SystemExit(f"the job failed: {event.message}")
        seconds = time.perf_counter() - started
        sent, received = client.traffic.sent, client.traffic.received
    finally:
        await client.close()
    assert result is not None
    result_size = Image.from_png(result).extent
    real_like = len(png(painting(result_size.width, result_size.height, seed=2)))
    return {
        "source": f"{size}×{size}",
        "result": f"{result_size.width}×{result_size.height}",
        "tiles": len(workflow.parts),
        "followed": "asking the server (detached)" if workflow.detached else "the socket",
        "step_messages_heard": steps_heard,
        "graph_nodes": len(workflow.graph),
        "source_png_bytes": len(source),
        "result_png_bytes": len(result),
        "bytes_sent": sent,
        "bytes_received": received,
        "sent_ratio": round(sent / len(source), 4),
        "received_ratio": round(received / len(result), 4),
        "total_ratio": round((sent + received) / (len(source) + len(result)), 4),
        "seconds": round(seconds, 1),
        # The fake's result is flat 8 px blocks (its "VAE"), which PNG packs tens of times tighter than
        # a real picture: the same overhead against a result PNG with a painting's texture.
        "real_like_result_png_bytes": real_like,
        "overhead_bytes": sent + received - len(source) - len(result),
        "total_ratio_real_like": round(
            (sent + received - len(result) + real_like) / (len(source) + real_like), 4
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=None, help="a ComfyUI (default: the fake)")
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument(
        "--seed", type=int, default=1, help="another seed: a real server cannot reuse its cache"
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    server = None if args.server else FakeServer()
    try:
        url = args.server or server.url  # type: ignore[union-attr]
        figures = asyncio.run(measure(url, args.size, args.factor, args.steps, args.seed))
    finally:
        if server is not None:
            server.close()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = f"{value:,}" if isinstance(value, int) else str(value)
        print(f"{key:<{width}}  {shown}")
    verdict = "ok" if figures["total_ratio"] <= 1.05 else "OVER the ×1.05 goal"
    print(f"sent+received / (source+result PNG) = ×{figures['total_ratio']} ({verdict})")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
