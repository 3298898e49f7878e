"""``endpoint``: serverless endpoints (RunPod) and container groups (SaladCloud) for ComfyUI:
create, list, status, start/stop (Salad) and delete. Keys from ``RUNPOD_API_KEY`` /
``SALAD_API_KEY`` or the password store, as for ``pod``; never printed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

from ..cloud import salad_groups
from ..cloud.runpod import DEFAULT_API
from ..cloud.salad_groups import Group, GroupSpec, SaladGroups
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

KEYS = {"runpod": ("RUNPOD_API_KEY", "runpod_api_key"), "salad": ("SALAD_API_KEY", "salad_api_key")}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "endpoint",
        help="RunPod Serverless endpoints and Salad container groups: create, list, delete",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--provider", choices=["runpod", "salad"], default="runpod")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument(
            "--organization", default="", help="Salad organization ($SALAD_ORGANIZATION)"
        )
        p.add_argument("--project", default="", help="Salad project ($SALAD_PROJECT)")

    create = actions.add_parser("create", help="RunPod: scales to zero; Salad: starts replicas")
    common(create)
    create.add_argument("--name", default="krita-comfyui")
    create.add_argument("--image", default="", help=f"image (RunPod default {DEFAULT_IMAGE})")
    create.add_argument("--pool", action="append", default=[], help="RunPod GPU pool id")
    create.add_argument("--max-workers", type=int, default=3, help="RunPod")
    create.add_argument("--idle-timeout", type=int, default=5, help="RunPod, seconds (1-3600)")
    create.add_argument("--no-flashboot", action="store_true", help="RunPod")
    create.add_argument("--network-volume", default="", help="RunPod volume id with your models")
    create.add_argument("--gpu-class", action="append", default=[], help="Salad GPU class")
    create.add_argument("--replicas", type=int, default=1, help="Salad")
    create.add_argument("--no-auth", action="store_true", help="Salad: no key at the gateway")
    for name in ("list", "status", "start", "stop", "delete"):
        p = actions.add_parser(name)
        common(p)
        if name != "list":
            p.add_argument("id", help="RunPod endpoint id or Salad group name")
    parser.set_defaults(handler=run)


def _key(provider: str) -> str:
    env, secret = KEYS[provider]
    key = os.environ.get(env) or SecretStore().get(secret)
    if not key:
        raise UserError(
            f"No {provider.capitalize()} API key: set {env} or save it with "
            f"'python -m keyring set ai_diffusion {secret}'."
        )
    register_secret(key)
    return key


def _salad(args: argparse.Namespace) -> SaladGroups:
    organization = args.organization or os.environ.get("SALAD_ORGANIZATION", "")
    project = args.project or os.environ.get("SALAD_PROJECT", "")
    if not organization or not project:
        raise UserError(
            "Salad needs the organization and project: --organization and --project (or "
            "SALAD_ORGANIZATION and SALAD_PROJECT), as shown in the Salad portal."
        )
    base = os.environ.get("AI_DIFFUSION_SALAD_API") or salad_groups.DEFAULT_API
    return SaladGroups(_key("salad"), organization, project, base_url=base)


def _endpoint_line(e: Endpoint) -> str:
    workers = ", ".join(f"{k} {v}" for k, v in e.workers.items() if v and k != "total")
    note = "  (throttled: max workers is 0, raise it in the console)" if e.throttled else ""
    return (
        f"{e.id}  {e.name}  {e.image}  {','.join(e.pools) or '-'}  "
        f"workers {e.min_workers}-{e.max_workers}{'  ' + workers if workers else ''}{note}"
    )


def _group_line(g: Group) -> str:
    ready = f", {g.ready} ready" if g.ready >= 0 else ""
    return f"{g.name}  {g.status}  {g.running}/{g.replicas} running{ready}  {g.url or '-'}"


async def _runpod(args: argparse.Namespace) -> Any:
    base = os.environ.get("AI_DIFFUSION_RUNPOD_API", DEFAULT_API)
    client = RunPodEndpoints(_key("runpod"), base_url=base)
    if args.action == "create":
        spec = EndpointSpec(
            name=args.name, image=args.image or DEFAULT_IMAGE,
            pools=tuple(args.pool) or DEFAULT_POOLS, max_workers=args.max_workers,
            idle_timeout=args.idle_timeout, flashboot=not args.no_flashboot,
            network_volume=args.network_volume,
        )  # fmt: skip
        return await client.create(spec)
    if args.action == "list":
        return await client.list()
    if args.action == "status":
        return await client.get(args.id)
    if args.action in ("start", "stop"):
        raise UserError(
            "A RunPod Serverless endpoint starts workers for jobs and stops them by itself; "
            "there is nothing to start or stop."
        )
    await client.delete(args.id)
    return None


async def _salad_run(args: argparse.Namespace) -> Any:
    client = _salad(args)
    if args.action == "create":
        spec = GroupSpec(
            name=args.name, image=args.image or salad_groups.DEFAULT_IMAGE,
            gpu_classes=tuple(args.gpu_class), replicas=args.replicas, auth=not args.no_auth,
        )  # fmt: skip
        return await client.create(spec)
    if args.action == "list":
        return await client.list()
    if args.action == "status":
        return await client.get(args.id)
    await getattr(client, args.action)(args.id)  # start, stop, delete
    return None


def run(args: argparse.Namespace) -> int:
    coroutine = _runpod(args) if args.provider == "runpod" else _salad_run(args)
    result = asyncio.run(coroutine)
    if result is None:
        done = {"delete": "deleted", "start": "starting", "stop": "stopping"}[args.action]
        note = " (its queued and running jobs are cancelled)" if args.action == "delete" else ""
        print(f"{done} {args.id}{note}", file=sys.stderr)
        return 0
    items = result if isinstance(result, list) else [result]
    if args.json:
        data = [item.to_json() for item in items]
        print(json.dumps(data if isinstance(result, list) else data[0], indent=1))
    else:
        for item in items:
            print(_endpoint_line(item) if isinstance(item, Endpoint) else _group_line(item))
    if args.action == "create" and isinstance(result, Endpoint):
        print(
            f"connect with: generate --backend runpod-serverless --endpoint {result.id} "
            f"--worker-image {result.image}",
            file=sys.stderr,
        )
    elif args.action == "create" and isinstance(result, Group):
        print(
            f"when it is running: generate --backend salad --server {result.url or '<its URL>'}",
            file=sys.stderr,
        )
    return 0
