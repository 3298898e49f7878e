"""``generate``: run a request on a server and write every result as PNG."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from ..comfy import ComfyClient
from ..comfy.events import ConnectionState, Failed, Finished, Interrupted, Progress, Queued, Started
from ..errors import UserError
from ..workflow import build_workflow
from .request_args import CliRequest, add_request_options, paste_result, request_from_args
from .server_args import add_server_options, server_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate images on a server and save them as PNG",
        description="--image alone refines (img2img); --image with --mask inpaints and writes "
        "images of the input's size, changed only inside the (feathered) mask.",
    )
    add_server_options(parser)
    add_request_options(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG files")
    parser.set_defaults(handler=run)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _UploadProgress:
    """Upload progress on stderr, at most one line per 10 %."""

    def __init__(self) -> None:
        self.shown = -1

    def __call__(self, sent: int, total: int) -> None:
        tenth = sent * 10 // total if total else 10
        if tenth > self.shown:
            self.shown = tenth
            _say(f"uploading: {sent * 100 // max(total, 1)} % of {total / 1024:.0f} KiB")


async def _generate(args: argparse.Namespace, cli: CliRequest) -> list[bytes]:
    client = await ComfyClient.connect(server_config(args))
    job: str | None = None
    try:
        workflow = build_workflow(cli.request, client.models.object_info)
        job = await client.enqueue(workflow, on_upload=_UploadProgress())
        async for event in client.listen():
            if isinstance(event, Queued) and event.position:
                _say(f"queued: {event.position} job(s) ahead")
            elif isinstance(event, Started):
                _say("started")
            elif isinstance(event, Progress):
                _say(f"step {event.step}/{event.total}")
            elif isinstance(event, ConnectionState):
                if event.state == "disconnected":
                    raise UserError(
                        f"The connection to {client.config.url} was lost. The job may still "
                        "finish on the server: its images would be in ComfyUI's output folder."
                    )
                _say(event.message)
            elif isinstance(event, Finished) and event.job_id == job:
                return event.images
            elif isinstance(event, Failed) and event.job_id == job:
                raise UserError(event.message)
            elif isinstance(event, Interrupted) and event.job_id == job:
                raise UserError("The job was cancelled on the server.")
        raise UserError("The server stopped sending events.")
    except asyncio.CancelledError:  # Ctrl-C: take our job off the server, not anyone else's
        with contextlib.suppress(Exception):  # (also one queued just as Ctrl-C came)
            await asyncio.wait_for(client.cancel_all(), 5)
        raise
    finally:
        await client.close()


def _free_path(folder: Path, stem: str) -> Path:
    """``folder/stem.png``, or ``stem-2.png`` … when taken: earlier results are never replaced."""
    path = folder / f"{stem}.png"
    n = 2
    while path.exists():
        path = folder / f"{stem}-{n}.png"
        n += 1
    return path


def run(args: argparse.Namespace) -> int:
    cli = request_from_args(args)
    try:  # before generating, so a long job is not wasted on a folder that cannot be written
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"The folder {args.out} cannot be created ({e.strerror}).") from e
    images = asyncio.run(_generate(args, cli))
    seed = cli.request.sampling.seed
    for i, data in enumerate(images):
        if cli.original is not None and cli.region is not None:
            data = paste_result(cli.original, data, cli.region)
        path = _free_path(args.out, f"ai_diffusion_{cli.request.mode.value}_{seed}_{i:02d}")
        try:
            path.write_bytes(data)
        except OSError as e:
            raise UserError(f"{path} could not be written ({e.strerror}).") from e
        print(path)
    return 0
