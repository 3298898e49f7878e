"""``workflow``: print the ComfyUI API graph for a request."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from ..comfy import ComfyClient
from ..errors import UserError
from ..workflow import build_workflow
from .request_args import add_request_options, load_object_info, request_from_args
from .server_args import add_server_options, server_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "workflow",
        help="print the ComfyUI graph for a request (no server needed)",
        description="Print the API graph JSON on stdout. With --server (a live server) or "
        "--object-info (a saved /object_info of your server) model names are checked, the "
        "pieces a split model needs (text encoders, VAE) are found among the server's files "
        "and the graph is validated; without either the graph is built from the names given "
        "and the family's usual file names: its links are checked, but not whether the "
        "server has those models or nodes.",
    )
    parser.add_argument("--object-info", type=Path, help="a server's /object_info JSON")
    add_server_options(parser)
    add_request_options(parser)
    parser.set_defaults(handler=run)


async def _live_server(args: argparse.Namespace) -> tuple[dict[str, Any], tuple[int, ...] | None]:
    client = await ComfyClient.connect(server_config(args))
    try:
        return client.models.object_info, client.models.version
    finally:
        await client.close()


def run(args: argparse.Namespace) -> int:
    if args.server and args.object_info:
        raise UserError("Give either --server or --object-info, not both.")
    cli = request_from_args(args)
    info: dict[str, Any] | None = None
    version = None
    if args.server:
        info, version = asyncio.run(_live_server(args))
    else:
        info = load_object_info(args.object_info)
    workflow = build_workflow(cli.request, info, version)
    print(json.dumps(workflow.graph, indent=1))
    return 0
