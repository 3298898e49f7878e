"""Check the plugin's everyday jobs against a real ComfyUI (a developer's tool, not CI).

    python scripts/check_real_jobs.py http://127.0.0.1:8190 [--checkpoint NAME] [--lora NAME]

With the server's SD1.5 test models (random weights are enough; docs/testing.md says how to run
a ComfyUI on the CPU), tiny jobs (64 px, 2 steps):
- ``models``: the CLI lists the server and its models;
- ``generate``: txt2img, inpaint (the pixels outside the mask unchanged) and a LoRA, through the
  CLI, each giving a PNG of the asked size;
- ``upscale``: a 128² picture upscaled ×2 with the upscale model and refined in 128 px tiles
  (9 tiles, 32 px overlap) in one detached job, through the CLI: a 256² PNG, the tiles named;
- ``cancel``: another client has a job running and one waiting; ours are one waiting between
  theirs and one at the end. The docker's Cancel (``cancel_all``) must stop both of ours, and
  both of theirs must finish. Prints which route the client used (the jobs API's cancel, or
  ``/interrupt`` and ``/queue``).
One line per check; exit status 1 if any failed.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image as PILImage  # noqa: E402

from ai_diffusion.comfy import ComfyClient, ServerConfig  # noqa: E402
from ai_diffusion.comfy.events import Finished, Interrupted, JobEvent  # noqa: E402
from ai_diffusion.request import Extent, GenerationRequest, Sampling  # noqa: E402

SIZE = 64


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ai_diffusion", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def check_models(url: str, checkpoint: str) -> str:
    result = cli("models", "--server", url)
    assert result.returncode == 0, result.stderr
    assert checkpoint in result.stdout, result.stdout
    return result.stdout.splitlines()[0]


def check_generate(url: str, checkpoint: str, lora: str, folder: Path) -> list[str]:
    # Inpaint on a larger picture: the mask grows by 8 px and is feathered over 15 px, so a
    # corner far from it must come back unchanged.
    source = folder / "in.png"
    PILImage.new("RGB", (2 * SIZE, 2 * SIZE), (40, 120, 200)).save(source)
    mask = PILImage.new("L", (2 * SIZE, 2 * SIZE), 0)
    mask.paste(255, (3 * SIZE // 4, 3 * SIZE // 4, 5 * SIZE // 4, 5 * SIZE // 4))
    mask.save(folder / "mask.png")
    base = ["generate", "--server", url, "--checkpoint", checkpoint, "--prompt", "a fox",
            "--width", str(SIZE), "--height", str(SIZE), "--steps", "2", "--seed", "7"]  # fmt: skip
    cases = {
        "txt2img": [],
        "inpaint": ["--image", str(source), "--mask", str(folder / "mask.png")],
        "lora": ["--lora", f"{lora}:0.8"],
    }
    lines = []
    for name, extra in cases.items():
        out = folder / name
        started = time.monotonic()
        result = cli(*base, *extra, "--out", str(out))
        assert result.returncode == 0, f"{name}: {result.stderr.strip()}"
        (png,) = sorted(out.glob("*.png"))
        image = PILImage.open(png).convert("RGB")
        expected = (2 * SIZE, 2 * SIZE) if name == "inpaint" else (SIZE, SIZE)
        assert image.size == expected, (name, image.size)
        if name == "inpaint":
            original = PILImage.open(source).convert("RGB")
            corner = (2, 2)  # outside the mask and its feather
            assert image.getpixel(corner) == original.getpixel(corner), name
        lines.append(f"{name}: {png.name} {image.size[0]}x{image.size[1]} "
                     f"in {time.monotonic() - started:.1f} s")  # fmt: skip
    return lines


def check_upscale(url: str, checkpoint: str, upscaler: str, folder: Path) -> list[str]:
    source = folder / "small.png"
    PILImage.effect_mandelbrot((128, 128), (-2, -1.2, 1, 1.2), 60).convert("RGB").save(source)
    out = folder / "upscaled"
    started = time.monotonic()
    result = cli(
        "generate", "--server", url, "--checkpoint", checkpoint, "--prompt", "a fox",
        "--steps", "2", "--seed", str(int(time.time()) % 10000),  # never from the cache
        "--image", str(source), "--upscale", upscaler,
        "--upscale-factor", "2", "--refine", "0.4", "--tile-size", "128", "--tile-overlap", "32",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.strip()
    (png,) = sorted(out.glob("*.png"))
    image = PILImage.open(png).convert("RGB")
    assert image.size == (256, 256), image.size
    # Several tiles: followed by asking the server (docs/performance.md), not step by step.
    assert "step 1/" not in result.stderr, result.stderr
    return [f"{png.name} {image.size[0]}x{image.size[1]}, 9 tiles refined in one detached job, "
            f"in {time.monotonic() - started:.1f} s"]  # fmt: skip


def request(checkpoint: str, seed: int, steps: int) -> GenerationRequest:
    return GenerationRequest(checkpoint=checkpoint, prompt="a lighthouse",
                             extent=Extent(SIZE, SIZE), sampling=Sampling(steps=steps, seed=seed))  # fmt: skip


async def ends(client: ComfyClient, ids: set[str], timeout: float = 600) -> dict[str, JobEvent]:
    found: dict[str, JobEvent] = {}

    async def run() -> None:
        async for event in client.listen():
            if isinstance(event, (Finished, Interrupted)) or type(event).__name__ == "Failed":
                found[event.job_id] = event  # type: ignore[attr-defined]
                if ids <= set(found):
                    return

    await asyncio.wait_for(run(), timeout)
    return found


async def check_cancel(url: str, checkpoint: str) -> str:
    mine = await ComfyClient.connect(ServerConfig(url))
    theirs = await ComfyClient.connect(ServerConfig(url))
    try:
        their_running = await theirs.submit(request(checkpoint, 1, 40))
        ours = [await mine.submit(request(checkpoint, 2, 40))]
        their_waiting = await theirs.submit(request(checkpoint, 3, 2))
        ours.append(await mine.submit(request(checkpoint, 4, 2)))
        route = "POST /api/jobs/{id}/cancel" if mine.api.cancel else "/interrupt and /queue"
        await mine.cancel_all()  # the docker's Cancel
        our_ends = await ends(mine, set(ours))
        assert all(isinstance(our_ends[i], Interrupted) for i in ours), our_ends
        their_ends = await ends(theirs, {their_running, their_waiting})
        kinds = {type(e).__name__ for e in their_ends.values()}
        assert kinds == {"Finished"}, their_ends
        return f"cancel: both of ours interrupted, both of theirs finished (route: {route})"
    finally:
        await mine.close()
        await theirs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--checkpoint", default="random-sd15-tiny.safetensors")
    parser.add_argument("--lora", default="random-sd15-tiny-lora.safetensors")
    parser.add_argument("--upscaler", default="random-compact-4x.safetensors")
    parser.add_argument("--only", default=None, help="run only this check (e.g. upscale)")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        checks = {
            "models": lambda: [check_models(args.url, args.checkpoint)],
            "generate": lambda: check_generate(args.url, args.checkpoint, args.lora, Path(tmp)),
            "upscale": lambda: check_upscale(args.url, args.checkpoint, args.upscaler, Path(tmp)),
            "cancel": lambda: [asyncio.run(check_cancel(args.url, args.checkpoint))],
        }
        for name, check in checks.items():
            if args.only and name != args.only:
                continue
            try:
                for line in check():
                    print(f"ok    {name}: {line}", flush=True)
            except (AssertionError, Exception) as e:  # report every check, then fail
                failed = True
                print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
