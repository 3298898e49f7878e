"""``models``: what a server offers."""

from __future__ import annotations

import argparse
import asyncio
import json

from ..backends.select import connect_backend
from .server_args import add_server_options, connection_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list a server's models, samplers and device")
    add_server_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--discover",
        action="store_true",
        help="RunPod Serverless: ask the worker with a short job (a few billed seconds)",
    )
    parser.set_defaults(handler=run)


async def _discover(args: argparse.Namespace) -> dict:
    client = await connect_backend(connection_config(args))
    try:
        if args.discover and hasattr(client, "discover_models"):
            await client.discover_models()
        models = client.models.to_json()
        models["server"] = getattr(client, "server", "ComfyUI")
        return models
    finally:
        await client.close()


def run(args: argparse.Namespace) -> int:
    models = asyncio.run(_discover(args))
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    device = models.pop("device")
    server = models.pop("server")
    vram = device["vram_total"] / 2**30
    if server == "ComfyUI":
        server = f"ComfyUI {device['comfyui_version'] or '?'}"
        print(f"device: {device['name']} ({vram:.1f} GB VRAM), {server}")
    else:
        print(f"server: {server}, {vram:.1f} GB VRAM")
    usable = models.pop("models", [])
    if usable:
        print(f"usable models ({sum(m['ready'] for m in usable)} of {len(usable)} ready):")
    for m in usable:
        state = "ready" if m["ready"] else "incomplete: " + "; ".join(m["missing"])
        print(f"  {m['name']}  [{m['family_title']}, {m['kind']}]  {state}")
    for key, names in models.items():
        print(f"{key} ({len(names)}):")
        for name in names:
            print(f"  {name}")
    return 0
