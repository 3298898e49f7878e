"""``workflow``: print the ComfyUI API graph for a request, without any network."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..workflow import build_workflow
from .request_args import add_request_options, load_object_info, request_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "workflow",
        help="print the ComfyUI graph for a request (no server needed)",
        description="Print the API graph JSON on stdout. With --object-info (a saved /object_info "
        "of your server) model names are checked and the graph is validated against it; "
        "without it the graph is built from the names given: its links are checked, but "
        "not whether the server has those models or nodes.",
    )
    parser.add_argument("--object-info", type=Path, help="a server's /object_info JSON")
    add_request_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    cli = request_from_args(args)
    workflow = build_workflow(cli.request, load_object_info(args.object_info))
    print(json.dumps(workflow.graph, indent=1))
    return 0
