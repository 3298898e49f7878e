"""``generate``: run a request on a server and write every result as PNG."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..backends.select import connect_backend
from ..comfy.events import ConnectionState, Failed, Finished, Interrupted, Progress, Queued, Started
from ..errors import UserError
from .request_args import (
    CliRequest,
    add_request_options,
    paste_result,
    pillow_scale,
    request_from_args,
)
from .server_args import add_server_options, connection_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="generate images on a server and save them as PNG",
        description="--image alone refines (img2img); --image with --mask inpaints and writes "
        "images of the input's size, changed only inside the (feathered) mask; --image with "
        "--upscale MODEL upscales it (--upscale-factor F, --refine STRENGTH with --model).",
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
    client = await connect_backend(connection_config(args), scale=pillow_scale)
    try:
        return await run_job(
            client, lambda: client.submit(cli.request, on_upload=_UploadProgress())
        )
    finally:
        await client.close()


async def run_job(client: Any, submit: Callable[[], Awaitable[str]]) -> list[bytes]:
    """Queue a job with ``submit`` and follow it on stderr until its images arrive (also for
    ``workflow run``). A failure ends in the painter's sentence; Ctrl-C takes our job off the
    server, never anyone else's."""
    job: str | None = None
    try:
        job = await submit()
        async for event in client.listen():
            if isinstance(event, Queued) and (event.position or event.message):
                ahead = f"{event.position} job(s) ahead" if event.position else ""
                _say(f"queued: {ahead}{' ' if ahead and event.message else ''}{event.message}")
            elif isinstance(event, Started):
                _say(f"started{': ' + event.message if event.message else ''}")
            elif isinstance(event, Progress) and event.parts:
                if event.part:  # an upscale's refine: one sampler per tile
                    _say(f"tile {event.part}/{event.parts} step {event.step}/{event.total}")
            elif isinstance(event, Progress):
                _say(f"step {event.step}/{event.total}")
            elif isinstance(event, ConnectionState):
                if event.state == "disconnected":
                    raise UserError(
                        f"The connection to {_where(client)} was lost. The job may still "
                        "finish on the server: its images would be in ComfyUI's output folder."
                    )
                _say(event.message)
            elif isinstance(event, Finished) and event.job_id == job:
                stats = getattr(client, "stats", {}).get(job)  # serverless: billed worker time
                if stats is not None:
                    cost = client.job_cost(job)
                    price = f", about ${cost:.4f}" if cost else ""
                    _say(f"worker time: {stats.execution_ms / 1000:.1f} s{price}")
                return list(event.images)
            elif isinstance(event, Failed) and event.job_id == job:
                raise UserError(event.message)
            elif isinstance(event, Interrupted) and event.job_id == job:
                raise UserError("The job was cancelled on the server.")
        raise UserError("The server stopped sending events.")
    except asyncio.CancelledError:  # Ctrl-C: take our job off the server, not anyone else's
        with contextlib.suppress(Exception):  # (also one queued just as Ctrl-C came)
            cancel_all = getattr(client, "cancel_all", None)  # ComfyUI: knows in-flight ids
            if cancel_all is not None:
                await asyncio.wait_for(cancel_all(), 5)
            elif job is not None:
                await asyncio.wait_for(client.cancel(job), 5)
        raise


def _where(client: object) -> str:
    config = getattr(client, "config", None)
    return str(getattr(config, "url", "") or "the server")


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
    cli.request.validate()  # before connecting: a mistake is named at once
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
