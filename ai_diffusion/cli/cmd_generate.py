"""``generate``: run a request on a server and write every result as PNG."""

from __future__ import annotations

import argparse
import asyncio
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


async def _generate(args: argparse.Namespace, cli: CliRequest) -> list[bytes]:
    client = await ComfyClient.connect(server_config(args))
    try:
        workflow = build_workflow(cli.request, client.models.object_info)
        job = await client.enqueue(
            workflow, on_upload=lambda s, t: _say(f"uploading {s}/{t} bytes")
        )
        async for event in client.listen():
            if isinstance(event, Queued) and event.position:
                _say(f"queued: {event.position} job(s) ahead")
            elif isinstance(event, Started):
                _say("started")
            elif isinstance(event, Progress):
                _say(f"step {event.step}/{event.total}")
            elif isinstance(event, ConnectionState):
                _say(event.message)
                if event.state == "disconnected":
                    raise UserError(event.message)
            elif isinstance(event, Finished) and event.job_id == job:
                return event.images
            elif isinstance(event, Failed) and event.job_id == job:
                raise UserError(event.message)
            elif isinstance(event, Interrupted) and event.job_id == job:
                raise UserError("The job was cancelled on the server.")
        raise UserError("The server stopped sending events.")
    finally:
        await client.close()


def run(args: argparse.Namespace) -> int:
    cli = request_from_args(args)
    images = asyncio.run(_generate(args, cli))
    args.out.mkdir(parents=True, exist_ok=True)
    seed = cli.request.sampling.seed
    for i, data in enumerate(images):
        if cli.original is not None and cli.region is not None:
            data = paste_result(cli.original, data, cli.region)
        path = args.out / f"ai_diffusion_{cli.request.mode.value}_{seed}_{i:02d}.png"
        path.write_bytes(data)
        print(path)
    return 0
