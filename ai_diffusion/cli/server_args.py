"""Options that say which server to use, shared by ``models`` and ``generate``."""

from __future__ import annotations

import argparse
import os

from ..backends.detect import KINDS
from ..comfy import ServerConfig


def add_server_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("server")
    g.add_argument(
        "--server",
        required=True,
        help="ComfyUI or Automatic1111/Forge WebUI address (URL, host:port, RunPod proxy URL; "
        "user:password@ for a WebUI's --api-auth)",
    )
    g.add_argument(
        "--backend",
        choices=KINDS,
        default="auto",
        help="what the server is (default: detect; ComfyUI is tried first)",
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
