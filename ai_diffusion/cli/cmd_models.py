"""``models``: what a server offers; ``models add`` / ``models upload``: new models on a pod
(through its gateway, see docs/gateway.md). ``models add --backend salad`` asks a SaladCloud
comfyui-api group to download a link itself (its own ``POST /models``); a Salad group takes no
file from this computer."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from ..backends.salad import GATEWAY_CUT, SaladComfyApi, SaladConfig
from ..backends.select import SALAD_KEY_SECRET, connect_backend
from ..cloud.gateway import FOLDERS, GatewayClient, Transfer, guess_folder
from ..errors import UserError
from ..logs import register_secret
from ..secrets import SecretStore
from .server_args import add_server_options, connection_config


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list a server's models, samplers and device; add models to a pod",
        description="Without an action: list a server's models. 'add' and 'upload' put a new "
        "model on a pod through its gateway (give their options after the action).",
    )
    add_server_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--discover",
        action="store_true",
        help="RunPod Serverless: ask the worker with a short job (a few billed seconds)",
    )
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="download a model onto a pod or a Salad group from a link (the server fetches it)",
        description="The pod downloads the file itself (several connections, resumed after "
        "drops, checked) into ComfyUI's models folder; ComfyUI lists it on its next refresh. "
        "With --backend salad, the Salad group's comfyui-api downloads it (one replica).",
    )
    add.add_argument("url", help="the model's download link (Hugging Face, Civitai, ...)")
    add.add_argument("--name", default=None, help="file name (default: what the link gives)")
    add.add_argument("--sha256", default=None, help="the file's SHA256, to check it")
    add.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="sent to the link's host only, e.g. 'Authorization: Bearer <Civitai key>'",
    )
    add.add_argument("--detach", action="store_true", help="start it and return at once")
    _transfer_options(add)
    add.set_defaults(handler=run_add)
    upload = actions.add_parser(
        "upload",
        help="send a model file from this computer to a pod",
        description="Sent in chunks; a dropped connection resumes where it stopped.",
    )
    upload.add_argument("file", help="the model file")
    upload.add_argument("--name", default=None, help="file name on the pod (default: the file's)")
    _transfer_options(upload)
    upload.set_defaults(handler=run_upload)


def _transfer_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--folder",
        choices=list(FOLDERS),
        default=None,
        help="where it goes (default: guessed from the name when obvious)",
    )
    g = parser.add_argument_group("pod or Salad group")
    g.add_argument(
        "--server",
        dest="gateway",
        default=None,
        help="the pod's gateway address, or the Salad group's access URL (with --backend salad)",
    )
    g.add_argument(
        "--backend",
        dest="transfer_backend",
        choices=["pod", "salad"],
        default=None,
        help="pod (a pod the plugin rented, the default) or salad (a SaladCloud comfyui-api "
        "group; links only)",
    )
    g.add_argument(
        "--token",
        dest="gateway_token",
        default=None,
        help="the pod's access token (default: $AI_DIFFUSION_TOKEN, then --token-name); with "
        "--backend salad, the Salad API key (default: $SALAD_API_KEY, then the password store)",
    )
    g.add_argument(
        "--token-name",
        default="",
        help="name of the token in the password store (e.g. pod_token:runpod:<pod id>)",
    )
    g.add_argument("--insecure", action="store_true", help="accept self-signed TLS certificates")


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


# Adding models to a pod ---------------------------------------------------------------------


def _token(args: argparse.Namespace, secrets: SecretStore | None = None) -> str:
    token = args.gateway_token or os.environ.get("AI_DIFFUSION_TOKEN") or ""
    if not token and args.token_name:
        token = (secrets or SecretStore()).get(args.token_name) or ""
    if not token:
        raise UserError(
            "The pod needs its access token: pass --token, set AI_DIFFUSION_TOKEN or name it "
            "in the password store with --token-name."
        )
    register_secret(token)
    return token


def _folder(args: argparse.Namespace, name: str) -> str:
    folder = args.folder or guess_folder(name)
    if not folder:
        raise UserError(
            f"Say which folder the model goes in with --folder ({', '.join(FOLDERS)}): "
            "its name does not tell."
        )
    return folder


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name.strip():
            raise UserError("--header takes 'Name: value', e.g. 'Authorization: Bearer KEY'.")
        headers[name.strip()] = text.strip()
        register_secret(text.strip())
    return headers


class _ProgressLine:
    """One line on stderr, rewritten at most a few times a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.began = time.monotonic()
        self.shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.shown < 0.25 and done != total:
            return
        self.shown = now
        rate = done / max(now - self.began, 1e-3) / 1e6
        of = f" of {total / 1e6:.1f}" if total else ""
        print(
            f"\r{self.label}: {done / 1e6:.1f}{of} MB, {rate:.1f} MB/s  ", end="", file=sys.stderr
        )

    def end(self) -> None:
        print(file=sys.stderr)


def _done(t: Transfer) -> int:
    print(f"{t.folder}/{t.filename}: {t.state}")
    return 0 if t.state == "done" else 1


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """(kind, address): "pod" or "salad", from the action's options or the command's."""
    kind = args.transfer_backend or ("salad" if getattr(args, "backend", "") == "salad" else "pod")
    servers = getattr(args, "server", None) or []
    address = args.gateway or (servers[0] if servers else "")
    if not address:
        raise UserError(
            "Give the pod's gateway address (or, with --backend salad, the Salad group's access "
            "URL) with --server."
        )
    return kind, address


def _salad_key(args: argparse.Namespace, secrets: SecretStore | None = None) -> str:
    key = args.gateway_token or getattr(args, "token", None) or os.environ.get("SALAD_API_KEY")
    if not key:
        key = (secrets or SecretStore()).get(SALAD_KEY_SECRET) or ""
    register_secret(key)
    return key


async def _salad_add(args: argparse.Namespace, address: str, folder: str) -> int:
    if args.sha256 or args.header:
        raise UserError(
            "A Salad group's download takes a link and a folder only (no --sha256, no "
            "--header): use a link that needs no key, e.g. a public Hugging Face file."
        )
    # The group's gateway waits at most GATEWAY_CUT seconds for the download to end.
    config = SaladConfig(address, api_key=_salad_key(args), request_timeout=GATEWAY_CUT + 20)
    backend = await SaladComfyApi.connect(config)
    try:
        print(f"asking the Salad group to download into {folder}…", file=sys.stderr)
        path = await backend.add_model(args.url, folder, filename=args.name)
    finally:
        await backend.close()
    print(f"{folder}/{path.rsplit('/', 1)[-1]}: done")
    print(
        "Only the replica that answered has it; the group's other replicas (and new ones) do "
        "not. To give every replica a model, put it in the group's model manifest or image.",
        file=sys.stderr,
    )
    return 0


async def _add(args: argparse.Namespace) -> int:
    kind, address = _target(args)
    folder = _folder(args, args.name or args.url)
    if kind == "salad":
        return await _salad_add(args, address, folder)
    async with GatewayClient.opened(address, _token(args), verify_tls=not args.insecure) as client:
        transfer_id = await client.download(
            args.url, folder, filename=args.name, sha256=args.sha256, headers=_headers(args.header)
        )
        if args.detach:
            print(transfer_id)
            return 0
        line = _ProgressLine(f"downloading into {folder}")
        try:
            t = await client.wait(transfer_id, line)
        except asyncio.CancelledError:  # Ctrl-C: the pod stops too
            await asyncio.shield(client.cancel(transfer_id))
            raise
        finally:
            line.end()
        return _done(t)


SALAD_NO_UPLOAD = (
    "A Salad group cannot take a model file from this computer: its comfyui-api only downloads "
    "from a link. Put the file where a link reaches it (e.g. your own Hugging Face repository) "
    "and use 'models add LINK --backend salad', or add it to the group's model manifest or image."
)


async def _upload(args: argparse.Namespace) -> int:
    kind, address = _target(args)
    if kind == "salad":
        raise UserError(SALAD_NO_UPLOAD)
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"There is no file {path}.")
    folder = _folder(args, args.name or path.name)
    async with GatewayClient.opened(address, _token(args), verify_tls=not args.insecure) as client:
        line = _ProgressLine(f"uploading {path.name} into {folder}")
        try:
            t = await client.upload(path, folder, line, filename=args.name)
        finally:
            line.end()
        return _done(t)


def run_add(args: argparse.Namespace) -> int:
    return asyncio.run(_add(args))


def run_upload(args: argparse.Namespace) -> int:
    return asyncio.run(_upload(args))
