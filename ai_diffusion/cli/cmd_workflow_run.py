"""``workflow run`` (also ``workflow-run``): run a ComfyUI workflow of your own on a server,
with an image, a mask, prompts, a seed and widget values from the command line."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

from ..comfy import ComfyClient
from ..comfy.userdata import saved_workflow, saved_workflows
from ..errors import UserError
from ..workflow.builder import Workflow
from ..workflow.custom import (
    MappingValues,
    OutputImage,
    WorkflowMapping,
    WorkflowSource,
    apply,
    derive_mapping,
    load_workflow,
    read_workflow,
    resolve_key,
)
from ..workflow.object_info import choices
from .cmd_generate import _free_path, _say, _UploadProgress, run_job
from .request_args import load_object_info
from .server_args import server_config

OUTPUT_PREFERENCE = ("SaveImage", "SaveImageWebsocket", "PreviewImage")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "workflow-run",
        help="run a ComfyUI workflow of your own (also: workflow run FILE)",
        description="Run a workflow saved from ComfyUI (JSON in either format, or a PNG made "
        "by ComfyUI) on a server: --image replaces its Load Image nodes, --mask its Load "
        "Image (as Mask) nodes (white = change), --prompt/--negative the text feeding its "
        "sampler, --seed every seed, --set NODE.INPUT=VALUE any widget (NODE: id or title). "
        "See docs/workflows.md.",
    )
    parser.add_argument("file", nargs="?", type=Path, help="the workflow: .json or .png")
    parser.add_argument("--saved", metavar="NAME", help="a workflow saved on the server instead")
    parser.add_argument(
        "--list-saved", action="store_true", help="list the workflows saved on the server"
    )
    g = parser.add_argument_group("server")
    g.add_argument("--server", action="append", default=[], help="ComfyUI address")
    g.add_argument("--token", default=None, help="bearer token (default: $AI_DIFFUSION_TOKEN)")
    g.add_argument("--insecure", action="store_true", help="accept self-signed TLS certificates")
    g.add_argument("--timeout", type=float, default=60.0, help="seconds for each request")
    g.add_argument(
        "--object-info",
        type=Path,
        help="a server's /object_info JSON: --show and --print without a server",
    )
    v = parser.add_argument_group("values")
    v.add_argument("--image", type=Path, help="PNG for the Load Image nodes (the canvas)")
    v.add_argument("--mask", type=Path, help="PNG for Load Image (as Mask): white = change")
    v.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="NAME=PNG",
        help="PNG for a Load Image node titled [layer: NAME]",
    )
    v.add_argument("--prompt", help="text of the prompt nodes feeding the sampler's positive")
    v.add_argument("--negative", help="text of the prompt nodes feeding its negative")
    v.add_argument("--seed", type=int, help="every seed and noise_seed of the workflow")
    v.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NODE.INPUT=VALUE",
        help="set a widget (checked against the server's limits); repeat it",
    )
    o = parser.add_argument_group("output")
    o.add_argument("--output", metavar="NODE", help="the output node to save (id or title)")
    o.add_argument("--out", type=Path, help="folder for the PNG files")
    o.add_argument("--show", action="store_true", help="list what the workflow takes; run nothing")
    o.add_argument(
        "--print", action="store_true", help="print the API graph to be queued; run nothing"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.list_saved:
        if (args.file is None) == (args.saved is None):
            raise UserError("Give the workflow: a file (.json or .png), or --saved NAME.")
        if not (args.show or args.print) and args.out is None:
            raise UserError("Give the folder for the results with --out.")
    if args.out is not None and not (args.show or args.print):
        try:  # before running, so a long job is not wasted on a folder that cannot be written
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"The folder {args.out} cannot be created ({e.strerror}).") from e
    if args.object_info is not None and args.saved is None and not args.list_saved:
        if not (args.show or args.print):
            raise UserError("Running needs a server: give --server instead of --object-info.")
        info = load_object_info(args.object_info) or {}
        _prepare_and_report(args, load_workflow(args.file), info)
        return 0
    return asyncio.run(_with_server(args))


async def _with_server(args: argparse.Namespace) -> int:
    client = await ComfyClient.connect(server_config(args))
    try:
        if args.list_saved:
            for name in await saved_workflows(client.session, client.config):
                print(name)
            return 0
        if args.saved is not None:
            data = await saved_workflow(client.session, client.config, args.saved)
            source = read_workflow(data, args.saved)
        else:
            source = load_workflow(args.file)
        prepared = _prepare_and_report(args, source, client.models.object_info)
        if prepared is None:
            return 0
        workflow, stem, seed = prepared
        images = await _queue_and_wait(client, workflow)
    finally:
        await client.close()
    for i, data in enumerate(images):
        path = _free_path(args.out, f"{stem}_{seed}_{i:02d}")
        try:
            path.write_bytes(data)
        except OSError as e:
            raise UserError(f"{path} could not be written ({e.strerror}).") from e
        print(path)
    return 0


def _prepare_unchecked(
    args: argparse.Namespace, source: WorkflowSource, info: dict[str, Any]
) -> tuple[Workflow, str, int | str] | None:
    """The workflow to queue (None when only --show or --print was asked), its file stem and
    the seed for the file names. Raises before anything is queued if the server lacks a node
    or a model."""
    graph = source.to_api(info)
    sets = [_split_set(item) for item in args.set]
    mapping = derive_mapping(graph, info, tuple(key for key, _ in sets))
    values = MappingValues(
        prompt=args.prompt,
        negative=args.negative,
        seed=args.seed,
        parameters={resolve_key(graph, key): value for key, value in sets},
    )
    inputs = _images(args, mapping, values, info)
    final = apply(mapping, values)
    if args.show:
        _show(mapping)
    if args.print:
        print(json.dumps(final, indent=1))
    if args.show or args.print:
        return None
    output = _pick_output(mapping, args.output)
    workflow = Workflow(
        final, inputs, output.node, streamed=output.class_type == "SaveImageWebsocket"
    )
    seed: int | str = args.seed if args.seed is not None else ""
    if seed == "" and mapping.seeds:
        seed = final[mapping.seeds[0].node]["inputs"][mapping.seeds[0].input]
    stem = Path(source.name).stem or "workflow"
    return workflow, stem, seed


UNREADABLE = (
    "This file is not a ComfyUI workflow the plugin can read (a part of it has an unexpected "
    "shape). Save it again from ComfyUI (Workflow › Save, or Export (API)) and use that file."
)


def _prepare_and_report(*args: Any, **kwargs: Any) -> Any:
    """As :func:`_prepare_unchecked`; a file of an odd shape ends in one sentence."""
    try:
        return _prepare_unchecked(*args, **kwargs)
    except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
        raise UserError(UNREADABLE, details=repr(e)) from e


def _split_set(item: str) -> tuple[str, str]:
    key, eq, value = item.partition("=")
    if not eq:
        raise UserError(f"--set takes NODE.INPUT=VALUE, e.g. 3.steps=20 (not {item!r}).")
    return key.strip(), value


def _images(
    args: argparse.Namespace, mapping: WorkflowMapping, values: MappingValues, info: dict
) -> dict[str, bytes]:
    """Upload names of the given images, written into ``values``; name → PNG bytes."""
    layers = {}
    for item in args.layer:
        name, eq, path = item.partition("=")
        if not eq:
            raise UserError(f"--layer takes NAME=PNG (not {item!r}).")
        layers[name.strip().lower()] = Path(path)
    inputs: dict[str, bytes] = {}
    on_server = set(choices(info, "LoadImage", "image"))
    for image in mapping.images:
        if image.layer is not None:
            path = layers.get(image.layer.lower())
        else:
            path = args.mask if image.kind == "mask" else args.image
        if path is None:
            current = mapping.graph[image.node]["inputs"].get("image")
            if on_server and current not in on_server:
                what = f"--layer {image.layer}=PNG" if image.layer else _flag(image.kind)
                raise UserError(
                    f"This workflow loads the image {current} (node {image.node}, "
                    f"{image.title}), which the server does not have: give one with {what}."
                )
            continue
        try:
            data = path.read_bytes()
        except OSError as e:
            raise UserError(f"The image {path} cannot be read ({e.strerror}).") from e
        name = f"aid-wf-{hashlib.sha256(data).hexdigest()[:20]}.png"
        inputs[name] = data
        values.images[image.node] = name
    return inputs


def _flag(kind: str) -> str:
    return "--mask" if kind == "mask" else "--image"


def _pick_output(mapping: WorkflowMapping, wanted: str | None) -> OutputImage:
    outputs = mapping.outputs
    if not outputs:
        raise UserError(
            "This workflow has no Save Image or Preview Image node, so there is no image to "
            "write. Add one in ComfyUI and save the workflow again."
        )
    if wanted is not None:
        for output in outputs:
            if wanted in (output.node, output.title) or wanted.lower() == output.title.lower():
                return output
        listed = ", ".join(f"{o.node} ({o.title or o.class_type})" for o in outputs)
        raise UserError(f"No output node {wanted}. This workflow's outputs: {listed}.")
    ranked = sorted(outputs, key=lambda o: OUTPUT_PREFERENCE.index(o.class_type))
    chosen = ranked[0]
    if len(outputs) > 1:
        _say(
            f"this workflow has {len(outputs)} outputs; saving node {chosen.node} "
            f"({chosen.title or chosen.class_type}); --output picks another"
        )
    return chosen


def _show(mapping: WorkflowMapping) -> None:
    for image in mapping.images:
        source = f"layer {image.layer}" if image.layer else (
            "the selection (--mask)" if image.kind == "mask" else "the canvas (--image)"
        )  # fmt: skip
        print(f"image  {image.node} ({image.title}): {source}")
    for prompt in mapping.prompts:
        print(f"prompt {prompt.node}.{prompt.input} ({prompt.role}): {prompt.text!r}")
    for seed in mapping.seeds:
        print(f"seed   {seed.node}.{seed.input}: {seed.value}")
    for p in mapping.parameters:
        limits = ""
        if p.kind in ("int", "float"):
            step = f", step {p.step}" if p.step is not None else ""
            limits = f" [{p.minimum} … {p.maximum}{step}]"
        elif p.kind == "combo":
            limits = f" [{len(p.choices)} choices]"
        print(f"param  {p.key} ({p.label}, {p.kind}{limits}): {p.default!r}")
    for output in mapping.outputs:
        where = f"layer {output.layer}" if output.layer else "a new result"
        print(f"output {output.node} ({output.title or output.class_type}): {where}")


async def _queue_and_wait(client: ComfyClient, workflow: Workflow) -> list[bytes]:
    return await run_job(client, lambda: client.enqueue(workflow, on_upload=_UploadProgress()))
