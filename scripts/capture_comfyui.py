"""Record a running ComfyUI for the fake and the protocol tests.

    python scripts/capture_comfyui.py http://127.0.0.1:8188 [OUT]

OUT defaults to ``tests/data/comfyui/<the server's version>/``. The server needs an SD1.5
checkpoint and LoRA in its lists (random-weight ones do; docs/testing.md says how to run a
ComfyUI on the CPU). What is recorded, and why: ``tests/comfy_capture.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.comfy_capture import capture, write  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the server, e.g. http://127.0.0.1:8188")
    parser.add_argument("out", nargs="?", type=Path, help="folder to write")
    args = parser.parse_args()
    result = asyncio.run(capture(args.url))
    out = args.out or ROOT / "tests" / "data" / "comfyui" / result.version
    write(result, out)
    print(f"ComfyUI {result.version}: {len(result.object_info)} node classes, "
          f"{len(result.http)} answers, {len(result.errors)} refusals, "
          f"{len(result.transcript)} websocket frames -> {out}")  # fmt: skip


if __name__ == "__main__":
    main()
