"""Options that say which server to use, shared by ``models`` and ``generate``.

``--backend`` picks the kind (a ComfyUI address, a RunPod Serverless endpoint, a SaladCloud
container group); ``--server`` may be given several times to use several servers at once.
Keys come from ``--token``, else the environment, else the password store; never echoed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..backends.select import (
    KINDS,
    RUNPOD_KEY_SECRET,
    SALAD_KEY_SECRET,
    backend_config,
)
from ..comfy import ServerConfig
from ..errors import UserError
from ..secrets import SecretStore

KEY_ENV = {
    "auto": "AI_DIFFUSION_TOKEN",
    "comfyui": "AI_DIFFUSION_TOKEN",
    "a1111": "AI_DIFFUSION_TOKEN",
    "runpod-serverless": "RUNPOD_API_KEY",
    "salad": "SALAD_API_KEY",
}
KEY_SECRET = {"runpod-serverless": RUNPOD_KEY_SECRET, "salad": SALAD_KEY_SECRET}


def add_server_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("server")
    g.add_argument(
        "--backend",
        choices=list(KINDS),
        default="auto",
        help="what the server is: auto (detect ComfyUI, then an Automatic1111/Forge WebUI), "
        "comfyui, a1111, runpod-serverless (with --endpoint) or salad (default auto)",
    )
    g.add_argument(
        "--server",
        action="append",
        default=[],
        help="ComfyUI or Automatic1111/Forge WebUI address (URL, host:port, RunPod proxy URL; "
        "user:password@ for a WebUI's --api-auth), or a Salad group's access URL; repeat it to "
        "use several servers at once",
    )
    g.add_argument("--endpoint", default="", help="RunPod Serverless endpoint id")
    g.add_argument(
        "--worker-image",
        default="",
        help="the endpoint's worker image (e.g. runpod/worker-comfyui:5.8.5-sdxl), for its models",
    )
    g.add_argument(
        "--models",
        default="",
        help="comma-separated checkpoints of a serverless worker that cannot list them",
    )
    g.add_argument(
        "--token",
        default=None,
        help="bearer token or API key (default: $AI_DIFFUSION_TOKEN, $RUNPOD_API_KEY or "
        "$SALAD_API_KEY by --backend, then the password store)",
    )
    g.add_argument("--insecure", action="store_true", help="accept self-signed TLS certificates")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds for each request")


def _key(args: argparse.Namespace, secrets: SecretStore | None) -> str:
    key = args.token or os.environ.get(KEY_ENV[args.backend]) or ""
    if not key and args.backend in KEY_SECRET:
        key = (secrets or SecretStore()).get(KEY_SECRET[args.backend]) or ""
    return key


def server_config(args: argparse.Namespace) -> ServerConfig:
    """The first ``--server`` as a ComfyUI config (for commands that need exactly one)."""
    servers = getattr(args, "server", None) or []
    if isinstance(servers, str):
        servers = [servers]
    if not servers:
        raise UserError("Give the server's address with --server.")
    token = args.token or os.environ.get("AI_DIFFUSION_TOKEN") or None
    return ServerConfig(
        url=servers[0], token=token, verify_tls=not args.insecure, request_timeout=args.timeout
    )


def connection_config(args: argparse.Namespace, secrets: SecretStore | None = None) -> Any:
    """What ``connect_backend`` takes, from the command line."""
    kind = args.backend
    servers: list[str] = list(args.server or [])
    if kind == "runpod-serverless":
        if not args.endpoint:
            raise UserError("Give the RunPod Serverless endpoint id with --endpoint.")
        key = _key(args, secrets)
        if not key:
            raise UserError(
                "RunPod Serverless needs your RunPod API key: set RUNPOD_API_KEY or pass --token."
            )
        base = ServerConfig("localhost", verify_tls=not args.insecure)
        extra = ",".join(servers)
    else:
        if not servers:
            raise UserError("Give the server's address with --server.")
        key = _key(args, secrets) if kind == "salad" else ""
        token = None if kind == "salad" else (args.token or os.environ.get("AI_DIFFUSION_TOKEN"))
        base = ServerConfig(
            servers[0],
            token=token or None,
            verify_tls=not args.insecure,
            request_timeout=args.timeout,
        )
        extra = ",".join(servers[1:])
    return backend_config(
        kind,
        base,
        endpoint=args.endpoint,
        api_key=key,
        image=args.worker_image,
        models=args.models,
        extra_servers=extra,
    )
