"""``models``: what a server offers."""

from __future__ import annotations

import argparse
import asyncio
import json

from ..comfy import ComfyClient
from .server_args import add_server_options, server_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list a server's models, samplers and device")
    add_server_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


async def _discover(args: argparse.Namespace) -> dict:
    client = await ComfyClient.connect(server_config(args))
    try:
        return client.models.to_json()
    finally:
        await client.close()


def run(args: argparse.Namespace) -> int:
    models = asyncio.run(_discover(args))
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    device = models.pop("device")
    vram = device["vram_total"] / 2**30
    print(
        f"device: {device['name']} ({vram:.1f} GB VRAM), ComfyUI {device['comfyui_version'] or '?'}"
    )
    usable = models.pop("models")
    print(f"usable models ({sum(m['ready'] for m in usable)} of {len(usable)} ready):")
    for m in usable:
        state = "ready" if m["ready"] else "incomplete: " + "; ".join(m["missing"])
        print(f"  {m['name']}  [{m['family_title']}, {m['kind']}]  {state}")
    for key, names in models.items():
        print(f"{key} ({len(names)}):")
        for name in names:
            print(f"  {name}")
    return 0
