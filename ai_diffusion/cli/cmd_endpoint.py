"""``endpoint``: create, list, inspect and delete RunPod Serverless endpoints for the ComfyUI
worker. The key comes from ``RUNPOD_API_KEY`` or the password store, as for ``pod``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from ..cloud.runpod import DEFAULT_API
from ..cloud.serverless_endpoints import (
    DEFAULT_IMAGE,
    DEFAULT_POOLS,
    Endpoint,
    EndpointSpec,
    RunPodEndpoints,
)
from ..errors import UserError
from ..logs import register_secret
from ..secrets import SecretStore


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "endpoint", help="create, list, inspect and delete serverless endpoints"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--provider", choices=["runpod", "salad"], default="runpod")
        p.add_argument("--json", action="store_true", help="print JSON")

    create = actions.add_parser("create", help="a new endpoint (scales to zero)")
    common(create)
    create.add_argument("--name", default="krita-comfyui")
    create.add_argument("--image", default=DEFAULT_IMAGE, help=f"worker image ({DEFAULT_IMAGE})")
    create.add_argument(
        "--pool", action="append", default=[], help=f"GPU pool id, repeatable ({DEFAULT_POOLS})"
    )
    create.add_argument("--max-workers", type=int, default=3)
    create.add_argument("--idle-timeout", type=int, default=5, help="seconds (1-3600)")
    create.add_argument("--no-flashboot", action="store_true")
    create.add_argument("--network-volume", default="", help="volume id holding your models")
    for name in ("list", "status", "delete"):
        p = actions.add_parser(name)
        common(p)
        if name != "list":
            p.add_argument("id")
    parser.set_defaults(handler=run)


def _client() -> RunPodEndpoints:
    key = os.environ.get("RUNPOD_API_KEY") or SecretStore().get("runpod_api_key")
    if not key:
        raise UserError(
            "No RunPod API key: set RUNPOD_API_KEY or save it with "
            "'python -m keyring set ai_diffusion runpod_api_key'."
        )
    register_secret(key)
    return RunPodEndpoints(key, base_url=os.environ.get("AI_DIFFUSION_RUNPOD_API", DEFAULT_API))


def _line(e: Endpoint) -> str:
    workers = ", ".join(f"{k} {v}" for k, v in e.workers.items() if v and k != "total")
    note = "  (throttled: max workers is 0, raise it in the console)" if e.throttled else ""
    pools = ",".join(e.pools) or "-"
    return (
        f"{e.id}  {e.name}  {e.image}  {pools}  workers {e.min_workers}-{e.max_workers}"
        f"{'  ' + workers if workers else ''}{note}"
    )


async def _run(args: argparse.Namespace) -> Any:
    client = _client()
    if args.action == "create":
        spec = EndpointSpec(
            name=args.name, image=args.image, pools=tuple(args.pool) or DEFAULT_POOLS,
            max_workers=args.max_workers, idle_timeout=args.idle_timeout,
            flashboot=not args.no_flashboot, network_volume=args.network_volume,
        )  # fmt: skip
        return await client.create(spec)
    if args.action == "list":
        return await client.list()
    if args.action == "status":
        return await client.get(args.id)
    await client.delete(args.id)
    return None


def run(args: argparse.Namespace) -> int:
    if args.provider == "salad":
        raise UserError(
            "Salad container groups are not managed from here yet: create and start the group in "
            "the Salad portal, then connect with --backend salad --server <its access URL>."
        )
    result = asyncio.run(_run(args))
    if args.action == "delete":
        print(f"deleted {args.id} (its queued and running jobs are cancelled)", file=sys.stderr)
        return 0
    items = result if isinstance(result, list) else [result]
    if args.json:
        data = [e.to_json() for e in items]
        print(json.dumps(data if isinstance(result, list) else data[0], indent=1))
    else:
        for e in items:
            print(_line(e))
        if args.action == "create":
            print(
                f"connect with: generate --backend runpod-serverless --endpoint {items[0].id} "
                f"--worker-image {items[0].image}",
                file=sys.stderr,
            )
    return 0
