"""Options that say which server to use, shared by ``models`` and ``generate``."""

from __future__ import annotations

import argparse
import os

from ..comfy import ServerConfig


def add_server_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    g = parser.add_argument_group("server")
    g.add_argument(
        "--server", required=required, help="ComfyUI address (URL, host:port, RunPod proxy URL)"
    )
    g.add_argument("--token", default=None, help="bearer token (default: $AI_DIFFUSION_TOKEN)")
    g.add_argument("--insecure", action="store_true", help="accept self-signed TLS certificates")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds for each request")


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(
        url=args.server,
        token=args.token or os.environ.get("AI_DIFFUSION_TOKEN") or None,
        verify_tls=not args.insecure,
        request_timeout=args.timeout,
    )
