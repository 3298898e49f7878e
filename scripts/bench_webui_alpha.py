"""Benchmark: the pure-Python work a WebUI inpaint result needs inside Krita (no numpy there):
decode the mask PNG, feather it, and give a result PNG the feather as alpha.

    python scripts/bench_webui_alpha.py [--sizes 512 768 1024] [--repeat 3]

Inputs are PNGs written by Pillow (as the WebUI writes its images: adaptive row filters).
Prints the best of --repeat runs per size, in seconds.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from ai_diffusion.backends import feather, png  # noqa: E402


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def _best(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(size: int, repeat: int, rng: np.random.Generator) -> tuple[float, float, float]:
    ramp = np.indices((size, size)).sum(0)[..., None] % 256
    picture = (ramp + rng.integers(0, 30, (size, size, 3))).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4 : size * 3 // 4, size // 3 : size * 2 // 3] = 255
    result_png, mask_png = _png(picture), _png(mask)

    def soft() -> bytes:
        m = png.decode(mask_png)
        return feather.soft_mask(feather.gray(m), m.width, m.height)

    alpha = soft()
    return (
        _best(repeat, lambda: png.decode(result_png)),
        _best(repeat, soft),
        _best(repeat, lambda: feather.with_alpha(result_png, alpha, size, size)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 768, 1024])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'size':>6} {'decode result':>14} {'mask+feather':>13} {'with alpha':>11}")
    for size in args.sizes:
        decode, soft, with_alpha = measure(size, args.repeat, rng)
        print(f"{size:>6} {decode:>14.2f} {soft:>13.2f} {with_alpha:>11.2f}")


if __name__ == "__main__":
    main()
