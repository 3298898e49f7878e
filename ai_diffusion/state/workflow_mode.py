"""The docker's Workflow mode: a ComfyUI workflow of the painter's own (a file, or one saved on
the server), converted and mapped against the connected server (``workflow/custom``), with
the painter's values for it: negative prompt, seed, parameters. The prompt is the docker's.

Values are remembered per workflow (its file path, or its saved name) in
``workflow_values.json`` next to ``settings.json``: plain values, never secrets. ``reset``
brings back the workflow's own. A workflow the server cannot run (a custom node or a model it
lacks) becomes one sentence in ``problem``; nothing is queued then.

Generating reads the canvas (the selection's region and its mask when the workflow takes a
mask) and hands a :class:`~.controller.WorkflowRun` to ``Controller.generate_workflow``, so
progress, previews, cancel and the results strip are the built-in modes'. An output node
titled ``[layer: NAME]`` names the result's layer: Apply updates the paint layer of that name,
or adds one when there is none.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import eventloop
from ..comfy import ComfyClient
from ..comfy.userdata import saved_workflow, saved_workflows
from ..errors import UserError
from ..handover import Handover
from ..qt import Signal
from ..request import Bounds, Image
from ..workflow import inpaint_region
from ..workflow.builder import Workflow
from ..workflow.custom import (
    MappingValues,
    MissingModels,
    OutputImage,
    Parameter,
    WorkflowMapping,
    WorkflowProblem,
    WorkflowSource,
    apply,
    derive_mapping,
    load_workflow,
    read_workflow,
)
from .controller import Controller, WorkflowRun, _painter_message
from .document import CanvasDocument
from .observable import Observable, StateObject

log = logging.getLogger(__name__)
VALUES_FILE = "workflow_values.json"
OUTPUT_PREFERENCE = ("SaveImage", "SaveImageWebsocket", "PreviewImage")


class WorkflowMode(StateObject):
    name: Observable[str] = Observable("")  # the chosen workflow, as shown ("" = none yet)
    problem: Observable[str] = Observable("")  # why it cannot run, in one sentence
    saved: Observable[tuple[str, ...]] = Observable(())  # the server's saved workflows
    message: Observable[str] = Observable("")  # e.g. the saved list could not be read
    seed_shown: Observable[int] = Observable(0)  # the seed the next job uses (or the last)

    loaded = Signal()  # a new mapping or new values: the page rebuilds its controls

    def __init__(self, controller: Controller, settings_dir: Path | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.settings_dir = settings_dir
        self.key = ""  # "file:PATH" or "saved:NAME"
        self.source: WorkflowSource | None = None
        self.mapping: WorkflowMapping | None = None
        self.values = MappingValues()
        self.random_seed = True
        self._stored: dict[str, Any] = self._read()
        self._ui = Handover(on_error=self._report)
        controller.models_changed.connect(self._convert)  # connected, or models refreshed

    # Choosing ---------------------------------------------------------------------------------

    def open_file(self, path: str | Path) -> None:
        path = Path(path)
        try:
            source = load_workflow(path)
        except UserError as e:
            self._fail(path.name, e.message)
            return
        self._use(source, f"file:{path.resolve()}", path.name)

    def open_saved(self, name: str) -> Any:
        """Fetch ``name`` from the server's saved workflows, then use it."""
        client = self.controller.client
        if not isinstance(client, ComfyClient):
            self._fail(name, _needs_comfy(client))
            return None

        async def fetch() -> None:
            data = await saved_workflow(client.session, client.config, name)
            self._ui.post(self._use_bytes, data, name)

        return eventloop.run(fetch(), on_error=self._report)

    def refresh_saved(self) -> Any:
        client = self.controller.client
        if not isinstance(client, ComfyClient):
            self.saved = ()
            return None

        async def listing() -> None:
            names = await saved_workflows(client.session, client.config)
            self._ui.post(setattr, self, "saved", tuple(names))

        return eventloop.run(listing(), on_error=self._report)

    def _use_bytes(self, data: bytes, name: str) -> None:
        try:
            source = read_workflow(data, name)
        except UserError as e:
            self._fail(name, e.message)
            return
        self._use(source, f"saved:{name}", name)

    def _use(self, source: WorkflowSource, key: str, shown: str) -> None:
        self.source, self.key = source, key
        self.name = shown
        self._convert()

    def _fail(self, shown: str, problem: str) -> None:
        self.source, self.key, self.mapping = None, "", None
        self.name = shown
        self.problem = problem
        self.loaded.emit()

    def _convert(self) -> None:
        """(Again) against the connected server's object_info; the painter's values back."""
        if self.source is None:
            return
        self.mapping = None
        client = self.controller.client
        try:
            if client is None:
                raise UserError("Connect to a ComfyUI server to use this workflow.")
            if not isinstance(client, ComfyClient):
                raise UserError(_needs_comfy(client))
            info = client.models.object_info
            self.mapping = derive_mapping(self.source.to_api(info), info)
            self.problem = ""
        except MissingModels as e:
            self.problem = _models_sentence(e.models)
        except UserError as e:
            self.problem = e.message.replace("\n", " ")
        except (KeyError, TypeError, AttributeError, ValueError, IndexError) as e:
            log.info("unreadable workflow: %r", e)  # an odd file: say so in words
            self.problem = (
                "This file is not a ComfyUI workflow the plugin can read (a part of it has an "
                "unexpected shape). Save it again from ComfyUI (Workflow › Save, or Export "
                "(API)) and open that file."
            )
        except Exception as e:  # anything else: say so, keep the docker going
            self.problem = _painter_message(e)
        self._restore()
        self.loaded.emit()

    # Values -----------------------------------------------------------------------------------

    def value(self, param: Parameter) -> Any:
        return self.values.parameters.get(param.key, param.default)

    def seed(self) -> int:
        if self.values.seed is not None:
            return int(self.values.seed)
        seeds = self.mapping.seeds if self.mapping is not None else []
        return int(seeds[0].value) if seeds else 0

    def set_parameter(self, key: str, value: Any) -> None:
        param = self.mapping.parameter(key) if self.mapping is not None else None
        if param is None:
            return
        try:
            value = param.coerce(value)
        except WorkflowProblem as e:
            self.message = e.message
            return
        if value == param.default:
            self.values.parameters.pop(key, None)
        else:
            self.values.parameters[key] = value
        self._store()

    def set_negative(self, text: str) -> None:
        self.values.negative = text or None
        self._store()

    def set_seed(self, seed: int, random_seed: bool) -> None:
        self.values.seed = int(seed)
        self.random_seed = bool(random_seed)
        self.seed_shown = int(seed)
        self._store()

    def reset(self) -> None:
        """The workflow's own values again (and forget the painter's)."""
        self.values = MappingValues()
        self.random_seed = True
        self.seed_shown = self.seed()
        self._stored.pop(self.key, None)
        self._write()
        self.loaded.emit()

    def _restore(self) -> None:
        entry = self._stored.get(self.key) if self.key else None
        entry = entry if isinstance(entry, dict) else {}
        try:
            values = MappingValues.from_json(entry.get("values") or {})
        except (TypeError, ValueError, AttributeError):
            values = MappingValues()
        kept: dict[str, Any] = {}
        for key, value in values.parameters.items():
            param = self.mapping.parameter(key) if self.mapping is not None else None
            if param is None:
                kept[key] = value  # a server without it now: keep it for later
                continue
            try:
                kept[key] = param.coerce(value)
            except WorkflowProblem:
                pass  # the server's limits changed: the workflow's own value
        negative = values.negative if isinstance(values.negative, str) else None
        seed = values.seed if isinstance(values.seed, int) else None
        self.values = MappingValues(negative=negative, seed=seed, parameters=kept)
        self.random_seed = bool(entry.get("random_seed", True))
        self.seed_shown = self.seed()

    def _store(self) -> None:
        if not self.key:
            return
        values = replace(self.values, prompt=None, images={})
        self._stored[self.key] = {"values": values.to_json(), "random_seed": self.random_seed}
        self._write()

    def _read(self) -> dict[str, Any]:
        if self.settings_dir is None:
            return {}
        path = self.settings_dir / VALUES_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("workflow values unreadable (%s); starting afresh", e)
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self) -> None:
        if self.settings_dir is None:
            return
        path = self.settings_dir / VALUES_FILE
        try:
            self.settings_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(self._stored, indent=1), encoding="utf-8")
            tmp.replace(path)
        except OSError as e:
            log.warning("could not save the workflow values: %s", e)

    def _report(self, error: BaseException) -> None:
        self.message = _painter_message(error)

    # Generating -------------------------------------------------------------------------------

    def generate(self, prompt: str = "") -> Any:
        """Queue the workflow on the canvas through the controller (the docker's prompt; empty =
        the workflow's own). Returns the task, or None (the reason is in the messages)."""
        if self.problem:
            self.controller.message = self.problem
            return None
        if self.mapping is None:
            self.controller.message = "Choose a workflow first: Open workflow…, or a saved one."
            return None
        mapping = self.mapping
        return self.controller.generate_workflow(lambda doc: self.prepare(doc, mapping, prompt))

    def prepare(
        self, document: CanvasDocument, mapping: WorkflowMapping, prompt: str
    ) -> WorkflowRun:
        """The graph with the canvas (and selection, and named layers) in it: runs as a Qt
        callback, reading the document now."""
        if self.random_seed and mapping.seeds:
            self.set_seed(random.randrange(2**31), True)
        bounds = _region(document, mapping)
        values = copy.deepcopy(self.values)
        values.prompt = prompt.strip() or None
        inputs: dict[str, bytes] = {}
        layers = {layer.name.lower(): layer.id for layer in document.layers()}
        for image in mapping.images:
            if image.layer is not None:
                layer_id = layers.get(image.layer.lower())
                if layer_id is None:
                    raise WorkflowProblem(
                        f"This workflow takes the layer '{image.layer}' ({image.title}): "
                        "add a layer of that name, or rename one."
                    )
                png = document.read_layer(layer_id, bounds)
            elif image.kind == "mask":
                png = document.selection_mask(bounds)
            else:
                png = document.read_image(bounds)
            name = _upload_name(png)
            inputs[name] = png.data
            values.images[image.node] = name
        graph = apply(mapping, values)
        output = _output(mapping)
        workflow = Workflow(
            graph, inputs, output.node, streamed=output.class_type == "SaveImageWebsocket"
        )
        seed = self.seed()
        shown = values.prompt or next((p.text for p in mapping.prompts if p.role == "positive"), "")
        name = output.layer or ""
        return WorkflowRun(workflow, bounds, shown, seed, name, updates_layer=bool(name))


def _region(document: CanvasDocument, mapping: WorkflowMapping) -> Bounds:
    """The whole canvas; the selection with context when the workflow takes a mask."""
    canvas = document.extent()
    selection = document.selection_bounds()
    takes_mask = any(i.kind == "mask" and i.layer is None for i in mapping.images)
    if takes_mask:
        if selection is None:
            raise WorkflowProblem(
                "This workflow changes a selected part of the image: select it first."
            )
        return inpaint_region(canvas, selection)
    return Bounds(0, 0, canvas.width, canvas.height)


def _upload_name(png: Image) -> str:
    return f"aid-wf-{hashlib.sha256(png.data).hexdigest()[:20]}.png"


def _output(mapping: WorkflowMapping) -> OutputImage:
    if not mapping.outputs:
        raise WorkflowProblem(
            "This workflow has no Save Image or Preview Image node, so there is no image to "
            "bring back. Add one in ComfyUI and save the workflow again."
        )
    return sorted(mapping.outputs, key=lambda o: OUTPUT_PREFERENCE.index(o.class_type))[0]


def _models_sentence(models: list[tuple[str, str]]) -> str:
    named = [f"{name} (in models/{folder})" for name, folder in models]
    if len(named) == 1:
        what = f"the model {named[0]}, which the server does not have: put the file"
    else:
        listed = ", ".join(named[:-1]) + " and " + named[-1]
        what = f"the models {listed}, which the server does not have: put the files"
    return f"This workflow uses {what} there on the server, or choose another workflow."


def _needs_comfy(client: Any) -> str:
    if client is None:
        return "Connect to a ComfyUI server to use workflows."
    return "Workflows need a ComfyUI server: connect to one to run them."
