"""What keeping results in the document costs: the controller re-encodes a document's results
after every finished job and every discard (``state/results_store.py``), on Krita's UI thread.

    python scripts/bench_results_store.py

Prints the container's size and the time to encode and decode it for a few result sets, the
largest at the bound (32 MB of PNGs). PNGs are incompressible noise, the worst case.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image as PILImage  # noqa: E402

from ai_diffusion.request import Bounds, Image  # noqa: E402
from ai_diffusion.state import results_store  # noqa: E402
from ai_diffusion.state.results_store import KeptResult  # noqa: E402


def noise_png(width: int, height: int, seed: int) -> Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, "RGB").save(buffer, "PNG", compress_level=1)
    return Image.from_png(buffer.getvalue())


def timed(function, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    print(
        f"{'results':>22} {'PNG MB':>7} {'kept':>5} {'container MB':>13} {'encode ms':>10} {'decode ms':>10}"
    )
    for count, side in ((4, 1024), (16, 1024), (64, 512), (40, 1024)):
        image = noise_png(side, side, side)
        results = [
            KeptResult(image, Bounds(0, 0, side, side), f"[AI] r ({i})", "a fox", i)
            for i in range(count)
        ]
        data = results_store.encode(results)
        kept = len(results_store.decode(data))
        encode_ms = timed(lambda r=results: results_store.encode(r))
        decode_ms = timed(lambda d=data: results_store.decode(d))
        total = count * len(image.data) / 1e6
        label = f"{count} x {side}x{side}"
        print(
            f"{label:>22} {total:7.1f} {kept:5d} {len(data) / 1e6:13.1f} "
            f"{encode_ms:10.1f} {decode_ms:10.1f}"
        )


if __name__ == "__main__":
    main()
