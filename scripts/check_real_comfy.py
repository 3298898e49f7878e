"""Check every model family's graphs against a real ComfyUI (a developer's tool, not CI).

    python scripts/check_real_comfy.py --server 127.0.0.1:8188 \
        --run random-sd15-tiny.safetensors --run random-sdxl-tiny.safetensors

For each usable model the server lists (``models`` of the CLI), every mode of its family is
built with the plugin's builder and posted to the server's ``/prompt``:
- models named with ``--run`` run end to end at a small size (the result must arrive);
- the others are only validated by the server (accepted, then removed from the queue at once),
  which is what the zero-byte placeholders of ``scripts/placeholders.py`` allow;
- a model whose family this server's ComfyUI cannot run (too old, a node or text-encoder type
  missing) must be refused by the plugin itself, before anything is posted: each mode is
  tried and the plugin's message is printed;
- ``--load-error MODEL`` lets one job of a placeholder run, to show the painter's message for
  a file the server cannot load.
Prints one line per model and mode, and a Markdown table with ``--markdown``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image as PILImage

from ai_diffusion.comfy import ComfyClient, ServerConfig
from ai_diffusion.comfy.events import Failed, Finished, Interrupted
from ai_diffusion.errors import UserError
from ai_diffusion.request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    LoraRef,
    RegionPrompt,
)
from ai_diffusion.workflow import default_sampling


def png(width: int, height: int, colour: tuple[int, ...], mode: str = "RGB") -> Image:
    buffer = io.BytesIO()
    PILImage.new(mode, (width, height), colour).save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


def mask(width: int, height: int) -> Image:
    picture = PILImage.new("L", (width, height), 0)
    picture.paste(255, (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


def requests_for(
    entry, info, loras: list[str], run: bool, patches: list[str] = ()
) -> dict[str, GenerationRequest]:  # type: ignore[no-untyped-def,assignment]
    family = entry.family
    size = Extent(96, 64) if run else Extent(1024, 768)
    sampling = replace(default_sampling(entry.name, info, family.id), seed=7)
    if run:
        sampling = replace(sampling, steps=2)
    image, hole = png(size.width, size.height, (90, 140, 200)), mask(size.width, size.height)
    base = GenerationRequest(
        checkpoint=entry.name, prompt="a lighthouse at dusk", negative_prompt="blurry",
        extent=size, sampling=sampling, family=family.id,
    )  # fmt: skip
    out = {
        "txt2img": base,
        "img2img": replace(base, image=image, strength=0.6),
        "inpaint": replace(base, image=image, mask=hole),
        "inpaint refine": replace(base, image=image, mask=hole, strength=0.5),
        "regions": replace(base, regions=(RegionPrompt("a red barn", hole),)),
    }
    stem = entry.name.rsplit(".", 1)[0]
    lora = next((name for name in loras if name.startswith(stem + "-")), None)
    placeholder = f"placeholder-{family.id}-lora.safetensors"  # scripts/placeholders.py
    lora = lora or (placeholder if placeholder in loras else None)
    lora = lora or next((name for name in loras if family.id.split("-")[0] in name), None)
    if lora:
        out["lora"] = replace(base, loras=(LoraRef(lora, 0.7),))
    patch = next((name for name in patches if name in family.control_examples), None)
    if family.control_patch and patch:  # Z-Image's ControlNets: model patches
        out["controlnet"] = replace(base, controls=(ControlLayer(patch, image, 0.8),))
    if family.is_edit:
        out["edit"] = replace(base, prompt="make the sky stormy", image=image, edit=True)
        out["edit selection"] = replace(out["edit"], mask=hole)
        if family.max_references:
            refs = tuple(png(64, 64, (200, 60 * i, 30)) for i in range(family.max_references))
            out["edit references"] = replace(out["edit"], references=refs)
    return out


class Ends:
    """Every job's end event, collected by one listener."""

    def __init__(self, client: ComfyClient) -> None:
        self.events: dict[str, object] = {}
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._listen(client))

    async def _listen(self, client: ComfyClient) -> None:
        async for event in client.listen():
            if isinstance(event, (Finished, Failed, Interrupted)):
                self.events[event.job_id] = event
                self.arrived.set()

    async def wait(self, job_id: str, timeout: float) -> object:
        deadline = time.monotonic() + timeout
        while job_id not in self.events:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), max(0.1, deadline - time.monotonic()))
        return self.events[job_id]


async def refused(client: ComfyClient, entry, info) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    """Every mode of a family the server cannot run: the plugin must refuse it itself, with
    the reason discovery gave, before posting anything."""
    rows = []
    patches = client.models.model_patches
    for mode, request in requests_for(entry, info, client.models.loras, False, patches).items():
        try:
            job = await client.submit(request)
        except UserError as e:
            same = e.message == entry.pieces.refused
            outcome = f"refused by the plugin: {e.message}" if same else f"REFUSED OTHERWISE: {e}"
        else:
            await client.cancel(job)
            outcome = "POSTED although the server cannot run it"
        rows.append((entry.name, entry.title, mode, outcome))
        print(" | ".join(rows[-1]), flush=True)
    return rows


async def check(args: argparse.Namespace) -> list[tuple[str, str, str, str]]:
    client = await ComfyClient.connect(ServerConfig(args.server))
    rows: list[tuple[str, str, str, str]] = []
    ends = Ends(client)
    try:
        info = client.models.object_info
        for entry in client.models.usable_models():
            if args.only and entry.name not in args.only:
                continue
            if entry.family is not None and entry.pieces.refused:
                rows.extend(await refused(client, entry, info))
                continue
            if entry.family is None or not entry.ready:
                reason = "; ".join(entry.missing)
                rows.append((entry.name, entry.title, "-", f"not ready: {reason}"))
                continue
            run = entry.name in args.run
            patches = client.models.model_patches
            for mode, request in requests_for(
                entry, info, client.models.loras, run, patches
            ).items():
                if run and args.run_modes and mode not in args.run_modes:
                    continue
                started = time.monotonic()
                try:
                    job = await client.submit(request)
                except UserError as e:
                    rows.append((entry.name, entry.title, mode, f"REJECTED: {e.message}"))
                    continue
                if run:
                    event = await ends.wait(job, args.timeout)
                    took = time.monotonic() - started
                    if isinstance(event, Finished):
                        outcome = f"ran: {len(event.images)} image(s) in {took:.1f} s"
                    else:
                        outcome = f"FAILED: {getattr(event, 'message', event)}"
                else:
                    await client.cancel(job)
                    outcome = "accepted by /prompt validation"
                rows.append((entry.name, entry.title, mode, outcome))
                print(" | ".join(rows[-1]), flush=True)
        if args.load_error:
            request = GenerationRequest(
                checkpoint=args.load_error, prompt="x", extent=Extent(64, 64),
                sampling=default_sampling(args.load_error, info),
            )  # fmt: skip
            job = await client.submit(request)
            event = await ends.wait(job, args.timeout)
            rows.append((args.load_error, "", "load error", getattr(event, "message", str(event))))
            print(" | ".join(rows[-1]), flush=True)
    finally:
        ends.task.cancel()
        await client.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True)
    parser.add_argument("--run", action="append", default=[], metavar="MODEL")
    parser.add_argument(
        "--run-modes",
        action="append",
        default=[],
        metavar="MODE",
        help="modes to run end to end (default: all)",
    )
    parser.add_argument(
        "--only", action="append", default=[], metavar="MODEL", help="check only these models"
    )
    parser.add_argument("--load-error", default=None, metavar="MODEL")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    try:
        rows = asyncio.run(check(args))
    except UserError as e:
        sys.exit(f"error: {e.message}")
    if args.markdown:
        print("\n| model | family | mode | outcome |\n| --- | --- | --- | --- |")
        for row in rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
