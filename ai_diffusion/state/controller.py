"""The docker's brain: connection, generation jobs, and results per document.

A state object (observable fields, see ``state.observable``, plus event signals); it talks to a client (``ComfyClient`` or a test double with the same
methods) and to documents through ``ai_diffusion.canvas`` protocols. No widgets, no Krita.
"""

from __future__ import annotations

import functools
import logging
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from .. import eventloop
from ..backends.select import connect_backend
from ..comfy import ComfyClient, without_credentials
from ..comfy.events import (
    ConnectionState,
    Failed,
    Finished,
    Interrupted,
    Preview,
    Progress,
    Queued,
    Started,
)
from ..errors import UserError
from ..handover import Handover, inside_task
from ..qt import Signal
from ..request import Bounds, Extent, GenerationRequest, Image, RegionPrompt
from ..workflow import inpaint_region
from . import results_store
from .document import CanvasDocument, DocumentSource
from .observable import Observable, StateObject
from .params import Params
from .scaling import scale_png

log = logging.getLogger(__name__)
Connector = Callable[[Any], Awaitable[Any]]  # a backend config → a connected backend


@dataclass
class Job:
    id: str
    document_id: str
    bounds: Bounds
    prompt: str
    seed: int
    name: str = ""  # the results' layer name ("" = made of the prompt and seed)
    updates_layer: bool = False  # Apply updates the layer called ``name`` (when there is one)
    style: str = ""  # the chosen style's name (``Params.style``)
    upscale: UpscaleRun | None = None  # an upscale: its result goes straight onto the canvas


@dataclass
class UpscaleRun:
    """An upscale ready to queue, made from the document by ``state/upscale_mode.py``."""

    request: GenerationRequest  # the canvas image with its UpscaleRef
    name: str  # the result's layer name
    new_document: bool = False  # the result opens as a new document instead


@dataclass
class WorkflowRun:
    """A custom workflow ready to queue, made from the document by ``state/workflow_mode.py``."""

    workflow: Any  # ai_diffusion.workflow.builder.Workflow: the graph and its input images
    bounds: Bounds  # where its results land on the canvas
    prompt: str
    seed: int
    name: str = ""  # the results' layer name (an output node's [layer: NAME]; "" = from prompt)
    updates_layer: bool = False  # [layer: NAME] on the output: Apply updates that layer


@dataclass
class Result:
    job_id: str
    document_id: str
    image: Image
    bounds: Bounds
    name: str
    prompt: str = ""
    seed: int = 0
    updates_layer: bool = False  # Apply updates the paint layer called ``name`` if there is one
    style: str = ""  # the style it was made with (kept with the document)


class JobOwner(Protocol):
    """A mode with jobs of its own on the controller's client (live painting)."""

    def owns(self, job_id: str) -> bool: ...

    def handle(self, event: Any) -> None: ...


def layer_name(prompt: str, seed: int) -> str:
    words = re.sub(r"<[^>]*>", "", prompt).strip()
    words = re.sub(r"\s+", " ", words)[:40].rstrip(" ,")
    return f"[AI] {words or 'result'} ({seed})"


class Controller(StateObject):
    # disconnected / connecting / connected / reconnecting / error
    state: Observable[str] = Observable("disconnected")
    connection_message: Observable[str] = Observable("Not connected.")
    device: Observable[str] = Observable("")  # "NVIDIA H100 · 80 GB VRAM" once connected
    message: Observable[str] = Observable("")  # one line for the painter: progress or error
    progress: Observable[tuple[int, int]] = Observable((0, 0))  # step, of steps
    busy: Observable[bool] = Observable(False)  # this plugin has jobs queued or running
    queued: Observable[int] = Observable(0)  # how many of this plugin's jobs wait or run
    test_result: Observable[str] = Observable("")  # outcome of the settings dialog's Test

    models_changed = Signal()
    preview = Signal(bytes)
    history_changed = Signal()

    def __init__(self, documents: DocumentSource, connector: Connector | None = None) -> None:
        super().__init__()
        self.documents = documents
        self.connector: Connector = connector or functools.partial(connect_backend, scale=scale_png)
        self.client: Any = None
        self.jobs: dict[str, Job] = {}
        self._unclaimed: list[Any] = []  # events that arrived before their job was registered
        self.results: list[Result] = []
        self._kept_loaded: set[str] = set()  # documents whose kept results were read
        # Other modes (live painting) that submit their own jobs: their events go to them.
        self.owners: list[JobOwner] = []
        self._listener: Any = None
        # Document and widget work from coroutines goes through here (never in a task step).
        self._ui = Handover(on_error=self._report)

    # Connection ---------------------------------------------------------------------------

    def _set_state(self, state: str, message: str = "") -> None:
        self.connection_message = message or state.capitalize()
        self.state = state

    def connect_server(self, config: Any) -> Any:
        return eventloop.run(self._connect(config), on_error=self._report)

    async def _connect(self, config: Any) -> None:
        await self._disconnect()
        self._set_state("connecting", f"Connecting to {without_credentials(config.url.strip())}…")
        try:
            self.client = await self.connector(config)
        except Exception as e:
            self._set_state("error", _painter_message(e))
            return
        client = self.client
        self._ui.post(self._connected, client)
        self._listener = eventloop.run(self._listen(client), on_error=self._report)

    def _connected(self, client: Any) -> None:
        if client is not self.client:
            return  # disconnected or replaced meanwhile
        self.device = _device_text(client)
        self._set_state("connected", f"Connected to {client.config.url}")
        self.models_changed.emit()

    def disconnect_server(self) -> Any:
        return eventloop.run(self._disconnect(), on_error=self._report)

    async def _disconnect(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None
        if self.client is not None:
            client, self.client = self.client, None
            self.device = ""
            await client.close()
            self._set_state("disconnected", "Disconnected.")

    def test_connection(self, config: Any) -> Any:
        """Try ``config`` without touching the current connection; the outcome (the exact
        error, or the device found) goes to ``test_result``."""

        async def test() -> None:
            self.test_result = "Testing…"
            try:
                client = await self.connector(config)
            except Exception as e:
                self.test_result = _painter_message(e)
                return
            try:
                count = len(client.models.checkpoints)
                self.test_result = f"Works: {_device_text(client)}, {count} checkpoint(s)."
            finally:
                await client.close()

        return eventloop.run(test(), on_error=self._report)

    def refresh_models(self) -> Any:
        async def refresh() -> None:
            if self.client is None:
                raise UserError("Connect to a server first.")
            await self.client.refresh_models()
            self._ui.post(self._models_refreshed)

        return eventloop.run(refresh(), on_error=self._report)

    def _models_refreshed(self) -> None:
        self.models_changed.emit()
        self.message = "Model list refreshed."

    def _report(self, error: BaseException) -> None:
        self.message = _painter_message(error)

    # Generation ---------------------------------------------------------------------------

    def build_request(
        self, document: CanvasDocument, params: Params
    ) -> tuple[GenerationRequest, Bounds]:
        """The panel's request with what only the document knows: the crop (the canvas, or the
        selection with context), its pixels and mask, the control and reference layers'
        pixels, and a new seed if it is random."""
        r = params.request
        canvas = document.extent()
        seed = random.randrange(2**31) if params.random_seed else r.sampling.seed
        whole = Bounds(0, 0, canvas.width, canvas.height)
        selection = document.selection_bounds()
        bounds = whole if selection is None else inpaint_region(canvas, selection)
        image: Image | None = None
        mask: Image | None = None
        if selection is not None:
            image = document.read_image(bounds)
            mask = document.selection_mask(bounds)
        elif r.strength < 1.0 or r.edit:
            image = document.read_image(bounds)
        request = replace(
            r,
            prompt=params.prompt,  # in the chosen style's template
            extent=Extent(bounds.width, bounds.height),
            sampling=replace(r.sampling, seed=seed),
            image=image,
            mask=mask,
            controls=tuple(
                replace(c.control, image=document.read_layer(c.layer_id, bounds))
                for c in params.controls
            ),
            region=bounds,
            references=tuple(document.read_layer(layer, whole) for layer in params.references),
            regions=_regions(document, params, bounds),
        )
        return request, bounds

    def generate(self, params: Params) -> Any:
        """Read the document now (this runs as a Qt callback, e.g. the button's slot), then
        upload and queue in the background. Returns the background task, or None when the
        request could not be made (the reason is in ``message``)."""
        if inside_task():
            self._ui.post(self.generate, params)
            return None
        try:
            document = self._document_for_a_job()
            request, bounds = self.build_request(document, params)
        except Exception as e:
            self._report(e)
            return None
        return eventloop.run(
            self._submit(self.client, request, document.id, bounds, params.style_name),
            on_error=self._report,
        )

    async def _submit(
        self,
        client: Any,
        request: GenerationRequest,
        document_id: str,
        bounds: Bounds,
        style: str = "",
    ) -> None:
        has_inputs = request.image is not None or bool(request.controls)
        self.message = "Uploading…" if has_inputs else "Queueing…"
        self.progress = (0, request.sampling.steps)
        job_id = await client.submit(request)
        job = Job(job_id, document_id, bounds, request.prompt, request.sampling.seed, style=style)
        # Registered from the Qt queue, after every event the listener posted before it: the
        # events of this job that came before its id are replayed in order.
        self._ui.post(self._register, job)

    def _document_for_a_job(self) -> CanvasDocument:
        """The document a new job reads, once a server is connected (else a sentence)."""
        if self.client is None:
            raise UserError("Connect to a server first (paste its address above, then Connect).")
        document = self.documents.active()
        if document is None:
            raise UserError("Open or create an image in Krita first.")
        return document

    def _register(self, job: Job) -> None:
        self.jobs[job.id] = job
        early = [e for e in self._unclaimed if e.job_id == job.id]
        self._unclaimed = [e for e in self._unclaimed if e.job_id != job.id]
        self.busy = True
        self.queued = len(self.jobs)
        for event in early:
            self.handle(event)

    def generate_workflow(self, prepare: Callable[[CanvasDocument], WorkflowRun]) -> Any:
        """Queue a custom workflow like ``generate``: ``prepare`` reads the active document
        (now, in this Qt callback) into a :class:`WorkflowRun`; its job then has the same
        progress, previews, cancel and results as the built-in modes'."""
        if inside_task():
            self._ui.post(self.generate_workflow, prepare)
            return None
        try:
            document = self._document_for_a_job()
            if not isinstance(self.client, ComfyClient):
                raise UserError(
                    "Workflows need a ComfyUI server: connect to one (its address, or a Cloud "
                    "GPU pod) to run them."
                )
            run = prepare(document)
        except Exception as e:
            self._report(e)
            return None

        async def enqueue(client: Any) -> None:
            self.message = "Uploading…" if run.workflow.inputs else "Queueing…"
            self.progress = (0, 0)
            job_id = await client.enqueue(run.workflow)
            job = Job(
                job_id, document.id, run.bounds, run.prompt, run.seed, run.name, run.updates_layer
            )
            self._ui.post(self._register, job)

        return eventloop.run(enqueue(self.client), on_error=self._report)

    def generate_upscale(self, prepare: Callable[[CanvasDocument], UpscaleRun]) -> Any:
        """Queue an upscale like ``generate``: ``prepare`` reads the active document (now, in
        this Qt callback) into an :class:`UpscaleRun`. Its result is applied when it arrives
        (the canvas resized and the result on top, or a new document)."""
        if inside_task():
            self._ui.post(self.generate_upscale, prepare)
            return None
        try:
            document = self._document_for_a_job()
            run = prepare(document)
            run.request.validate()
        except Exception as e:
            self._report(e)
            return None

        async def submit(client: Any) -> None:
            self.message = "Uploading…"
            self.progress = (0, 0)
            job_id = await client.submit(run.request)
            extent = document.extent()
            bounds = Bounds(0, 0, extent.width, extent.height)
            r = run.request
            job = Job(job_id, document.id, bounds, r.prompt, r.sampling.seed, run.name)
            job.upscale = run
            self._ui.post(self._register, job)

        return eventloop.run(submit(self.client), on_error=self._report)

    def _apply_upscaled(self, job: Job, upscale: UpscaleRun, images: list[bytes]) -> None:
        document = self.documents.find(job.document_id)
        if document is None or not images:
            return
        image = Image.from_png(images[0])
        try:
            document.apply_upscaled(image, upscale.name, upscale.new_document)
        except Exception as e:
            self.message = _painter_message(e)
            return
        where = "a new document" if upscale.new_document else "the canvas"
        self.message = f"Upscaled to {image.width}×{image.height}: '{upscale.name}' on {where}."

    def cancel(self) -> Any:
        async def cancel() -> None:
            if self.client is None:
                return
            refused: list[UserError] = []
            for job_id in list(self.jobs):  # one job that cannot be stopped stops no other
                try:
                    await self.client.cancel(job_id)
                except UserError as e:
                    refused.append(e)
            if refused:
                raise refused[0]

        return eventloop.run(cancel(), on_error=self._report)

    async def _listen(self, client: Any) -> None:
        # Events are handled as Qt callbacks: showing a preview writes into the document,
        # which may spin Qt's event loop, and must never happen inside this task's step. A bad
        # event (an unreadable preview…) becomes a message and stops nothing else.
        async for event in client.listen():
            self._ui.post(self.handle, event)

    def handle(self, event: Any) -> None:
        if isinstance(event, ConnectionState):
            self._set_state(event.state, event.message)
            return
        owner = next((o for o in self.owners if o.owns(event.job_id)), None)
        if owner is not None:
            owner.handle(event)
            return
        job = self.jobs.get(event.job_id)
        if job is None:
            # The client may report a job before enqueue() returned its id to us: keep it.
            self._unclaimed = [*self._unclaimed[-200:], event]
            return
        if isinstance(event, Queued):
            text = f"Queued: {event.position} job(s) ahead" if event.position else "Queued"
            self.message = f"{text}. {event.message}" if event.message else text
        elif isinstance(event, Started):
            # Job APIs say more (a cold start, where a job of several servers runs).
            self.message = event.message or "Generating…"
        elif isinstance(event, Progress):
            if event.parts and event.part:  # an upscale's tiles: the bar spans all of them
                done = (event.part - 1) * event.total + event.step
                self.progress = (done, event.parts * event.total)
                self.message = f"Tile {event.part} of {event.parts}"
            elif event.parts:
                self.message = "Upscaling…"
            else:
                self.progress = (event.step, event.total)
                self.message = f"Step {event.step} of {event.total}"
        elif isinstance(event, Preview):
            self.preview.emit(event.image)
            if job.upscale is not None:
                return  # a tile's preview: not the canvas's picture
            document = self.documents.find(job.document_id)
            if document is not None:
                preview = Image(event.image, job.bounds.width, job.bounds.height)
                document.show_preview(preview, job.bounds)
        elif isinstance(event, Finished):
            self._finish(job, event.images)
        elif isinstance(event, Failed):
            self._end(job)
            self.message = event.message
        elif isinstance(event, Interrupted):
            self._end(job)
            self.message = "Cancelled."

    def claim(self, job_id: str) -> list[Any]:
        """The events of ``job_id`` that arrived before its owner knew the id, oldest first
        (for a :class:`JobOwner` registering a job it submitted)."""
        early = [e for e in self._unclaimed if e.job_id == job_id]
        self._unclaimed = [e for e in self._unclaimed if e.job_id != job_id]
        return early

    def _end(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
        document = self.documents.find(job.document_id)
        if document is not None:
            document.hide_preview()
        self.busy = bool(self.jobs)
        self.queued = len(self.jobs)

    def _finish(self, job: Job, images: list[bytes]) -> None:
        self._end(job)
        if job.upscale is not None:
            self._apply_upscaled(job, job.upscale, images)
            return
        if self.documents.find(job.document_id) is None:
            return  # the document was closed: its results are dropped quietly
        for i, data in enumerate(images):
            name = job.name or layer_name(job.prompt, job.seed + i)
            self.results.append(
                Result(
                    job.id,
                    job.document_id,
                    Image.from_png(data),
                    job.bounds,
                    name,
                    job.prompt,
                    job.seed + i,
                    updates_layer=job.updates_layer,
                    style=job.style,
                )
            )
        self._keep(job.document_id)
        self.message = f"Done: {len(images)} result(s). Click one to see it, Apply to keep it."
        cost = _cost_text(self.client, job.id)
        if cost:
            self.message += f" {cost}"
        self.history_changed.emit()

    # Results --------------------------------------------------------------------------------

    def history(self) -> list[Result]:
        """Results of the active document, oldest first."""
        document = self.documents.active()
        if document is None:
            return []
        self._load_kept(document)
        return [r for r in self.results if r.document_id == document.id]

    def show(self, result: Result) -> None:
        document = self.documents.find(result.document_id)
        if document is not None:
            try:
                document.show_preview(result.image, result.bounds)
            except Exception as e:
                self.message = _painter_message(e)

    def hide(self, result: Result) -> None:
        """Take a hovered result off the canvas again."""
        document = self.documents.find(result.document_id)
        if document is not None:
            try:
                document.hide_preview()
            except Exception as e:
                self.message = _painter_message(e)

    def apply(self, result: Result) -> str | None:
        document = self.documents.find(result.document_id)
        if document is None:
            return None
        try:
            document.hide_preview()
            target = _layer_to_update(document, result)
            if target is not None:
                layer = document.update_layer(target, result.image, result.bounds)
                self.message = (
                    f"Updated layer '{result.name}'. Edit › Undo twice brings back what it was."
                )
                return layer
            layer = document.apply_result(result.image, result.bounds, result.name)
        except Exception as e:  # e.g. a colour model the result cannot be written into
            self.message = _painter_message(e)
            return None
        self.message = f"Added layer '{result.name}'."
        return layer

    def discard(self, result: Result) -> None:
        if result in self.results:
            self.results.remove(result)
        document = self.documents.find(result.document_id)
        if document is not None:
            document.hide_preview()
        self._keep(result.document_id)
        self.history_changed.emit()

    def _load_kept(self, document: CanvasDocument) -> None:
        """Once per document: the results saved in it (``results_store``) come first."""
        if document.id in self._kept_loaded:
            return
        self._kept_loaded.add(document.id)
        try:
            data = document.read_annotation(results_store.ANNOTATION)
        except Exception:
            log.warning("kept results could not be read from the document", exc_info=True)
            return
        self.results[:0] = [
            Result(
                f"kept-{i}",
                document.id,
                k.image,
                k.bounds,
                k.name,
                k.prompt,
                k.seed,
                updates_layer=k.updates_layer,
                style=k.style,
            )  # fmt: skip
            for i, k in enumerate(results_store.decode(data or b""))
        ]

    def _keep(self, document_id: str) -> None:
        """Save the document's results into it (bounded, see ``results_store``): a .kra keeps
        them across a restart. Krita marks the document modified."""
        document = self.documents.find(document_id)
        if document is None:
            return
        self._load_kept(document)
        mine = [r for r in self.results if r.document_id == document_id]
        try:
            data = results_store.encode(mine) if mine else b""
            document.write_annotation(results_store.ANNOTATION, data)
        except Exception:
            log.warning("results could not be kept in the document", exc_info=True)


def _regions(document: CanvasDocument, params: Params, bounds: Bounds) -> tuple[RegionPrompt, ...]:
    """The regions whose layers have pixels inside ``bounds`` (an inpaint's crop: only those
    that reach it count), with their masks cut to it."""
    regions = []
    for region in params.regions:
        if not region.prompt.strip():
            continue  # a region still being written
        mask = document.layer_mask(region.layer_id, bounds)
        if mask is not None:
            regions.append(RegionPrompt(region.prompt, mask))
    return tuple(regions)


def _layer_to_update(document: CanvasDocument, result: Result) -> str | None:
    """The paint layer a workflow's ``[layer: NAME]`` output updates (names compare without
    case, as the workflow's layer inputs do); None: add a new layer of that name."""
    if not result.updates_layer:
        return None
    name = result.name.lower()
    return next(
        (
            layer.id
            for layer in document.layers()
            if layer.name.lower() == name and layer.kind == "paintlayer"
        ),
        None,
    )


def _cost_text(client: Any, job_id: str) -> str:
    """For backends billed per second of work (serverless): this job's and the session's."""
    job_cost = getattr(client, "job_cost", None)
    if job_cost is None:
        return ""
    cost = float(job_cost(job_id))
    if cost <= 0:
        return ""
    return f"Cost about ${cost:.4f} (this session ${float(client.session_cost):.3f})."


def _device_text(client: Any) -> str:
    device = client.models.device
    text = f"{device.name} · {device.vram_gb} GB VRAM" if device.vram_total else device.name
    source = getattr(client, "models_from", "")  # backends without a model list say why
    return f"{text} (models: {source})" if source else text


def _painter_message(error: BaseException) -> str:
    """Every exception becomes a line the painter can act on; the traceback goes to the log."""
    if isinstance(error, UserError):
        return error.message
    log.error("unexpected error", exc_info=error)
    return (
        f"Something went wrong ({type(error).__name__}: {error}). Try again; if it keeps "
        "happening, please report it with the log file from Krita's app-data folder "
        "(ai_diffusion/logs)."
    )
