"""``pod``: rent, watch and stop a cloud GPU running ComfyUI (RunPod or vast.ai)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from ..cloud import GpuOption, Pod, Provider, ProviderEndpoints
from ..cloud.images import DEFAULT_IMAGE, IMAGES
from ..cloud.models import pod_token_name
from ..cloud.pod_start import pod_spec, service_port
from ..cloud.provider import create_pod_with_fallback
from ..cloud.readiness import wait_until_ready
from ..errors import UserError
from ..logs import register_secret
from ..pod_gateway import gateway_source
from ..secrets import SecretStore

ENV_KEYS = {"runpod": "RUNPOD_API_KEY", "vast": "VAST_API_KEY"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pod", help="rent, list and stop cloud GPUs running ComfyUI")
    parser.add_argument(
        "action", choices=["gpus", "create", "list", "status", "stop", "resume", "terminate", "url"]
    )
    parser.add_argument("pod_id", nargs="?", help="the pod (status, stop, resume, terminate, url)")
    parser.add_argument("--provider", choices=["runpod", "vast"], default="runpod")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--gpu",
        action="append",
        default=[],
        help="GPU name to consider (repeatable; default: all, cheapest first)",
    )
    parser.add_argument("--max-price", type=float, help="highest $/h to consider")
    parser.add_argument("--min-vram", type=float, default=12, help="GB of GPU memory (default 12)")
    parser.add_argument(
        "--image", default=DEFAULT_IMAGE.name, help=f"server image: {', '.join(IMAGES)}"
    )
    parser.add_argument("--disk", type=int, default=50, help="container disk in GB")
    parser.add_argument(
        "--no-wait", action="store_true", help="create without waiting until ComfyUI answers"
    )
    parser.add_argument(
        "--wait-minutes",
        type=float,
        default=30,
        help="how long create waits for ComfyUI to answer (default 30; first start downloads models)",
    )
    parser.add_argument("--yes", action="store_true", help="terminate without asking")
    parser.add_argument(
        "--show-token",
        action="store_true",
        help="also print the new pod's access token (it is kept in the password store)",
    )
    parser.set_defaults(handler=run)


def make_provider(name: str, secrets: SecretStore | None = None) -> Provider:
    key = os.environ.get(ENV_KEYS[name]) or (secrets or SecretStore()).get(f"{name}_api_key")
    if not key:
        raise UserError(
            f"No {name} API key: set {ENV_KEYS[name]}, or save the key in the docker's Cloud GPU settings."
        )
    return ProviderEndpoints.from_env(os.environ).provider(name, key)


def _pod_json(pod: Pod, provider: Provider, port: int) -> dict[str, Any]:
    data = asdict(pod)
    data.pop("seen_at", None)
    data["state"] = pod.state.value
    data["cost_so_far"] = pod.cost_so_far
    data["url"] = provider.service_url(pod, port)
    return data


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _run(args: argparse.Namespace) -> Any:
    provider = make_provider(args.provider)
    image = IMAGES.get(args.image)
    if image is None:
        raise UserError(f"Unknown image '{args.image}'. Known: {', '.join(IMAGES)}.")
    port = service_port(image)
    needs_pod = args.action in ("status", "stop", "resume", "terminate", "url")
    if needs_pod and not args.pod_id:
        raise UserError(f"'pod {args.action}' needs the pod's id (see 'pod list').")
    if args.action == "gpus":
        return [asdict(g) for g in await _gpus(provider, args)]
    if args.action == "list":
        return [_pod_json(p, provider, port) for p in await provider.list_pods()]
    if args.action == "create":
        gpus = await _gpus(provider, args)
        if not gpus:
            raise UserError(
                "No GPU matches those filters right now. Relax --max-price or --min-vram."
            )
        spec = pod_spec(image, gateway_source(), disk_gb=args.disk)  # its own token
        token = spec.token
        register_secret(token)
        created, gpu = await create_pod_with_fallback(
            provider, spec, gpus,
            on_skip=lambda g, why: _say(f"{g.gpu_name}: not available, trying the next GPU"),
        )  # fmt: skip
        _say(
            f"created {created.name} ({created.id}) on {gpu.gpu_name} at ${gpu.price_per_hour:.2f}/h"
        )
        result = _pod_json(created, provider, port)
        if token:  # kept before waiting, so a failed wait does not lose it
            _keep_token(args, created.id, token, result)
        if not args.no_wait:
            result["url"] = await wait_until_ready(
                provider, created.id, port, token=token, on_state=_say,
                timeout=args.wait_minutes * 60,
            )  # fmt: skip
        return result
    pod = await provider.get_pod(args.pod_id)
    if pod is None:
        raise UserError(
            f"There is no pod '{args.pod_id}' on {args.provider} (it may be terminated)."
        )
    if args.action == "status":
        return _pod_json(pod, provider, port)
    if args.action == "url":
        url = provider.service_url(pod, port)
        if url is None:
            raise UserError(f"Pod {pod.id} is {pod.state.value}: it has no address until it runs.")
        if image.token_env:
            name = pod_token_name(args.provider, pod.id)
            _say(f"Connect with the access token saved in your password store as '{name}'.")
        return url
    if args.action == "terminate" and not args.yes:
        answer = (
            input(f"Terminate {pod.name} ({pod.id})? Its disk is deleted. [y/N] ")
            if sys.stdin.isatty()
            else ""
        )
        if answer.strip().lower() not in ("y", "yes"):
            raise UserError("Not terminated (pass --yes to confirm without asking).")
    await getattr(provider, args.action)(pod.id)
    _say(f"{args.action}: {pod.id} done")
    updated = await provider.get_pod(pod.id)
    return _pod_json(updated, provider, port) if updated else {"id": pod.id, "state": "terminated"}


def _keep_token(args: argparse.Namespace, pod_id: str, token: str, result: dict) -> None:
    """Save the pod's token in the password store; print it only when asked."""
    name = pod_token_name(args.provider, pod_id)
    store = SecretStore()
    store.set(name, token)
    result["token_name"] = name
    if store.persistent:
        _say(
            f"The pod's access token is saved in your password store as '{name}' "
            "(service ai_diffusion); the plugin uses it when you connect to this pod."
        )
    if args.show_token or not store.persistent:
        if not store.persistent:
            _say(
                "This system has no password store: copy the pod's access token printed below "
                "into the plugin's Server token field, it is not saved anywhere."
            )
        result["token"] = token


async def _gpus(provider: Provider, args: argparse.Namespace) -> list[GpuOption]:
    gpus = await provider.list_gpus(
        min_vram=args.min_vram,
        max_price=args.max_price,
        gpu_names=args.gpu or None,
        min_cuda=IMAGES[args.image].min_cuda,
    )
    if args.gpu:
        wanted = {g.lower() for g in args.gpu}
        gpus = [g for g in gpus if g.gpu_name.lower() in wanted or g.ref.lower() in wanted]
    return gpus


def run(args: argparse.Namespace) -> int:
    result = asyncio.run(_run(args))
    if args.json or not isinstance(result, (list, dict)):
        print(json.dumps(result, indent=1) if args.json else result)
        return 0
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        if "price_per_hour" in row and "ref" in row:
            print(
                f"{row['gpu_name']:<22} {row['vram_gb']:>5.0f} GB  ${row['price_per_hour']:.2f}/h  {row['availability']}  ({row['ref']})"
            )
        else:
            print(
                f"{row.get('name', ''):<16} {row['id']:<12} {row['state']:<12} "
                f"${row.get('price_per_hour', 0):.2f}/h  spent ${row.get('cost_so_far', 0):.2f}  {row.get('url') or ''}"
            )
            if row.get("token"):
                print(f"access token: {row['token']}")
    return 0
