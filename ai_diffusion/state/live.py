"""Live painting: the canvas regenerates as the painter works.

A change of the canvas (seen by polling ``LiveCanvas.canvas_key``) or of the live prompt,
strength or seed restarts a quiet timer; when it runs out the document is read (in that Qt
callback, never inside a task step) and the request handed to one background "pump". The pump
keeps at most one live job running on the server: before it submits the newest request it
cancels this client's earlier live jobs by their own ids (a waiting one is removed from the
queue, a running one interrupted), never anybody else's. While it uploads, changes only mark
the canvas stale; it is read once more when the upload is done, so only the latest canvas
travels and reading never piles up.

Shortly before the quiet time ends (twice the time that took last, at most halfway) the
canvas is read and its images sent ahead (``prepare``); when the pause lasts, that same request
is submitted and only the job itself travels, and its result comes back over the websocket
(``streamed``): one round trip after the pause instead of three (upload, post, download). A
streamed result lost on the way is asked for again; if that happens twice in a row, results
are saved and downloaded instead.

Results go to the document's live preview layer; "Keep" copies the latest into a new layer (one
undo step); stopping removes the preview layer. Over a dropped connection live painting pauses with a message and resumes when
the controller reports the server back.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, cast

from .. import eventloop
from ..comfy.events import Failed, Finished, Interrupted
from ..handover import Handover, inside_task
from ..qt import QTimer, Signal
from ..request import Bounds, Extent, GenerationRequest, Image, RegionPrompt
from ..workflow import inpaint_region, sampling_extent
from ..workflow.families import family_of
from ..workflow.live import LiveSetup, live_setup
from .controller import Controller, _painter_message, layer_name
from .document import LiveCanvas
from .observable import Observable, StateObject
from .params import LayerRegion
from .scaling import scaled_png

log = logging.getLogger(__name__)
POLL_SHARE = 0.2  # at most this share of the UI thread goes to looking for changes
AHEAD_MIN_MS = 100  # shorter quiet times leave no time worth reading ahead in
LOST_IN_A_ROW = 2  # streamed results lost in a row before results are downloaded instead
PAUSED = (
    "Live painting paused: the connection to the server is lost. It resumes by itself when "
    "the server answers again; your painting is not affected."
)


@dataclass(frozen=True)
class LiveParams:
    checkpoint: str = ""
    prompt: str = ""
    negative_prompt: str = ""
    strength: float = 0.6  # how much the model may change: lower keeps more of the sketch
    seed: int = 0
    regions: tuple[LayerRegion, ...] = ()  # the Generate page's regions


@dataclass(frozen=True)
class LiveResult:
    document_id: str
    image: Image
    bounds: Bounds
    name: str


@dataclass(frozen=True)
class _Prepared:
    """A request read (and its images sent ahead) before the quiet time was over."""

    key: object  # the canvas state it was read from
    params: LiveParams
    document_id: str
    request: GenerationRequest
    bounds: Bounds


@dataclass(frozen=True)
class _Pending:
    request: GenerationRequest
    document_id: str
    bounds: Bounds
    number: int = 0  # order of reading: a result never replaces a newer one


class LiveMode(StateObject):
    active: Observable[bool] = Observable(False)
    paused: Observable[bool] = Observable(False)
    message: Observable[str] = Observable("")  # one line for the painter
    note: Observable[str] = Observable("")  # why the chosen model is slow for live use
    has_result: Observable[bool] = Observable(False)
    busy: Observable[bool] = Observable(False)  # live jobs on the server (idle auto-stop)

    result_shown = Signal(object)  # a LiveResult, after it is on the canvas

    def __init__(self, controller: Controller, debounce_ms: int = 300, poll_ms: int = 50) -> None:
        super().__init__()
        self.controller = controller
        self.params = LiveParams()
        self.result: LiveResult | None = None
        self.submitted = 0  # jobs sent (benchmarks, diagnostics)
        self._ui = Handover(on_error=self._report)
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(max(0, debounce_ms))
        self._quiet.timeout.connect(self.quiet_time_over)
        self._ahead = QTimer(self)  # before the quiet time ends: send the images ahead
        self._ahead.setSingleShot(True)
        self._ahead.timeout.connect(self.read_ahead)
        self._prepared: _Prepared | None = None
        self._preparing: Any = None  # the images being sent ahead
        self._ahead_cost: float | None = None  # seconds the last read and send ahead took
        self.streamed = True  # results over the websocket; off after results got lost twice
        self._lost = 0  # streamed results lost in a row
        self._poll = QTimer(self)
        self._poll_ms = max(10, poll_ms)
        self._poll.setInterval(self._poll_ms)
        self._poll.timeout.connect(self.poll)
        self._document_id: str | None = None
        self._key: object = None
        self._own: dict[str, _Pending] = {}  # live job id → what it was for
        self._cancelled: set[str] = set()
        self._queued: GenerationRequest | None = None  # the newest request read
        self._pump: Any = None
        self._stale = False  # the canvas changed while the pump was sending
        self._read = 0  # requests read so far
        self._shown = 0  # number of the request whose result is on the canvas
        controller.owners.append(self)
        controller.changed.connect(self._on_controller)

    @property
    def debounce_ms(self) -> int:
        return int(self._quiet.interval())

    @debounce_ms.setter
    def debounce_ms(self, value: int) -> None:
        self._quiet.setInterval(max(0, value))

    # Starting and stopping ------------------------------------------------------------------

    def start(self, params: LiveParams | None = None) -> bool:
        """Enter live mode on the active document; False (and why, in ``message``) if not."""
        if params is not None:
            self.params = params
        if self.controller.client is None:
            self.message = "Connect to a server first, then start live painting."
            return False
        document = self._document()
        if document is None:
            self.message = "Open or create an image in Krita first."
            return False
        if not self.params.checkpoint:
            self.message = "Choose a model first."
            return False
        self._document_id = document.id
        self._key = self._read_key(document)
        self.note = self.setup().slow
        self.active = True
        self.paused = self.controller.state != "connected"
        self.message = PAUSED if self.paused else "Live: paint, and the preview follows."
        self._poll.start()
        self.schedule()
        return True

    def stop(self) -> None:
        """Leave live mode: cancel its jobs, remove the preview layer. Kept layers stay."""
        if inside_task():
            self._ui.post(self.stop)
            return
        if not self.active:
            return
        self.active = False
        self.paused = False
        self._poll.stop()
        self._quiet.stop()
        self._ahead.stop()
        self._prepared = None
        self._queued = None
        self._stale = False
        outstanding = [j for j in self._own if j not in self._cancelled]
        self._cancelled.update(outstanding)
        client = self.controller.client
        if outstanding and client is not None:
            eventloop.run(_cancel_all(client, outstanding), on_error=self._report)
        document = self._find(self._document_id)
        if document is not None:
            try:
                document.hide_live()
            except Exception as e:
                self._report(e)
        self.result = None
        self.has_result = False
        self.message = "Live painting stopped."

    def set_params(self, params: LiveParams) -> None:
        if params == self.params:
            return
        checkpoint_changed = params.checkpoint != self.params.checkpoint
        self.params = params
        if checkpoint_changed and self.controller.client is not None:
            self.note = self.setup().slow
        if self.active:
            self.schedule()

    def setup(self) -> LiveSetup:
        client = self.controller.client
        models = client.models if client is not None else None
        return live_setup(
            self.params.checkpoint,
            list(models.loras) if models is not None else [],
            models.object_info if models is not None else None,
            device_type=models.device.type if models is not None else "",
        )

    # Noticing changes -----------------------------------------------------------------------

    def poll(self) -> None:
        """Look for a change of the canvas (the poll timer calls this)."""
        if not self.active:
            return
        document = self._document()
        if document is None:
            return
        if document.id != self._document_id:  # the painter switched to another image
            old = self._find(self._document_id)
            if old is not None:
                old.hide_live()
            self._document_id = document.id
            self.result = None
            self.has_result = False
        start = time.perf_counter()
        key = self._read_key(document)
        self._poll.setInterval(poll_interval(self._poll_ms, time.perf_counter() - start))
        if key != self._key:
            self._key = key
            self.schedule()

    def schedule(self) -> None:
        """A change: generate once the painter has paused for the quiet time."""
        if self.active:
            self._prepared = None
            self._quiet.start()
            if self.debounce_ms >= AHEAD_MIN_MS:
                self._ahead.setInterval(self.debounce_ms - self._ahead_lead_ms())
                self._ahead.start()

    def _ahead_lead_ms(self) -> int:
        """How long before the end of the quiet time to read ahead: twice what reading and
        sending took last time (so it is done in time), at most half the quiet time. The
        later it starts, the fewer reads a painter's short pauses between strokes cost."""
        half = self.debounce_ms // 2
        if self._ahead_cost is None:
            return half
        return min(half, max(AHEAD_MIN_MS // 2, int(2000 * self._ahead_cost)))

    def read_ahead(self) -> None:
        """Shortly before the quiet time ends (its timer calls this): read the canvas and send
        its images, so that if the pause lasts only the job itself travels at its end."""
        if inside_task():
            self._ui.post(self.read_ahead)
            return
        if not self.active or self.paused:
            return
        if self._pump is not None and not self._pump.done():
            return  # the pump reads again when it is done
        if self._preparing is not None and not self._preparing.done():
            return  # one upload ahead at a time: the end of the quiet time reads if needed
        document = self._find(self._document_id)
        client = self.controller.client
        if document is None or client is None:
            return
        start = time.perf_counter()
        try:
            request, bounds = self.build_request(document)
        except Exception as e:  # the end of the quiet time reads again and reports it
            log.info("reading the canvas ahead failed: %s", e)
            return
        self._prepared = _Prepared(self._key, self.params, document.id, request, bounds)
        prepare = getattr(client, "prepare", None)  # backends that upload separately
        if prepare is None or request == self._queued:
            self._ahead_cost = time.perf_counter() - start
            return
        self._preparing = eventloop.run(prepare(request), on_error=_ahead_failed)

        def sent(_: Any) -> None:
            self._ahead_cost = time.perf_counter() - start

        self._preparing.add_done_callback(sent)

    def _take_prepared(self, document: LiveCanvas) -> tuple[GenerationRequest, Bounds] | None:
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared.document_id != document.id:
            return None
        if prepared.key != self._key or prepared.params != self.params:
            return None  # painted or changed the prompt since
        return prepared.request, prepared.bounds

    def quiet_time_over(self) -> None:
        """Read the canvas and send it (the quiet timer calls this)."""
        if inside_task():
            self._ui.post(self.quiet_time_over)
            return
        if not self.active:
            return
        if self.paused:
            return  # resuming schedules a fresh read
        if self._pump is not None and not self._pump.done():
            self._stale = True  # read once the pump has sent what it holds: one read per send
            return
        document = self._find(self._document_id)
        client = self.controller.client
        if document is None or client is None:
            return
        try:
            request, bounds = self._take_prepared(document) or self.build_request(document)
        except Exception as e:
            self._report(e)
            return
        if request == self._queued:
            return  # what the server works on (or has shown) is already this
        self._queued = request
        self._read += 1
        pending = _Pending(request, document.id, bounds, self._read)
        self._pump = eventloop.run(self._run_pump(client, pending), on_error=self._pump_failed)
        self._pump.add_done_callback(lambda _: self._ui.post(self._pump_done))

    def _pump_done(self) -> None:
        if self._stale:
            self._stale = False
            self.quiet_time_over()

    def build_request(self, document: LiveCanvas) -> tuple[GenerationRequest, Bounds]:
        """Only the region that matters: the selection with context, else the canvas; scaled
        down to the model's native size before it is sent."""
        p = self.params
        canvas = document.extent()
        selection = document.selection_bounds()
        if selection is not None:
            bounds = inpaint_region(canvas, selection)
        else:
            bounds = Bounds(0, 0, canvas.width, canvas.height)
        native = family_of(p.checkpoint).native
        target = sampling_extent(bounds.extent, native)
        if target.pixels >= bounds.extent.pixels:
            target = bounds.extent  # never upscale before sending: the server does that
        image: Image | None = None
        mask: Image | None = None
        if selection is not None or p.strength < 1.0:
            image = document.read_image(bounds, target)
        if selection is not None:
            mask = scaled_png(document.selection_mask(bounds), target)
        setup = self.setup()
        request = GenerationRequest(
            checkpoint=p.checkpoint,
            prompt=p.prompt,
            negative_prompt=p.negative_prompt,
            extent=target,
            sampling=replace(setup.sampling, seed=p.seed),
            loras=setup.loras,
            image=image,
            strength=p.strength,
            mask=mask,
            region=bounds,
            regions=_live_regions(document, p.regions, bounds, target),
            streamed=self.streamed,  # only looked at: over the websocket, not saved on the server
        )
        return request, bounds

    # The server side ------------------------------------------------------------------------

    async def _run_pump(self, client: Any, pending: _Pending) -> None:
        """Network work only: cancel our older live jobs, submit the newest request."""
        for job_id in [j for j in self._own if j not in self._cancelled]:
            self._cancelled.add(job_id)
            await client.cancel(job_id)  # by its own id: never another client's job
        if not self.active:
            return
        job_id = await client.submit(pending.request)
        self.submitted += 1
        self._own[job_id] = pending  # from now on its events are routed here
        self.busy = True
        self._ui.post(self._adopt, job_id)

    def _pump_failed(self, error: BaseException) -> None:
        self._queued = None  # the same canvas may be sent again
        self._report(error)

    def _adopt(self, job_id: str) -> None:
        for event in self.controller.claim(job_id):
            self.handle(event)

    def owns(self, job_id: str) -> bool:
        return job_id in self._own

    def handle(self, event: Any) -> None:
        """An event of one of our jobs (a Qt callback, from the controller)."""
        if not isinstance(event, (Finished, Failed, Interrupted)):
            return  # queue position, steps and step previews: the result follows quickly
        pending = self._own.pop(event.job_id, None)
        self.busy = bool(self._own)
        cancelled = event.job_id in self._cancelled
        self._cancelled.discard(event.job_id)
        if pending is None or not self.active:
            return
        if isinstance(event, Finished):
            self._lost = 0
            # A replaced job that finished before its interrupt arrived is still shown while
            # nothing newer is: it is closer to the canvas than what the layer holds.
            if event.images and pending.number > self._shown:
                self._show(pending, Image.from_png(event.images[0]))
        elif cancelled:
            return
        elif isinstance(event, Failed) and event.retryable:
            self._queued = None  # e.g. the streamed result was lost with the connection
            self._lost += 1
            if self._lost >= LOST_IN_A_ROW and self.streamed:
                self.streamed = False  # something on the way drops them: download instead
                log.warning("live results got lost %d times in a row; downloading", self._lost)
            self.schedule()
        elif isinstance(event, Failed):
            self._queued = None
            self.message = event.message
        else:  # interrupted on the server by someone else: send the canvas again
            self._queued = None
            self.schedule()

    def _show(self, pending: _Pending, image: Image) -> None:
        document = self._find(pending.document_id)
        if document is None:
            return
        request = pending.request
        name = layer_name(request.prompt, request.sampling.seed)
        try:
            document.show_live(image, pending.bounds)
        except Exception as e:
            self._report(e)
            return
        self._shown = pending.number
        self.result = LiveResult(pending.document_id, image, pending.bounds, name)
        self.has_result = True
        if not self.paused:
            self.message = "Live: up to date."
        self.result_shown.emit(self.result)

    # Keep -----------------------------------------------------------------------------------

    def keep(self) -> str | None:
        """Copy the current live result into a new layer (one undo step); its id, or None."""
        result = self.result
        if result is None:
            self.message = "Nothing to keep yet: paint, and wait for the live preview."
            return None
        document = self._find(result.document_id)
        if document is None:
            return None
        try:
            layer = document.apply_result(result.image, result.bounds, result.name)
        except Exception as e:
            self._report(e)
            return None
        self.message = f"Kept as layer '{result.name}'."
        return layer

    # Connection -----------------------------------------------------------------------------

    def _on_controller(self, name: str, value: Any) -> None:
        if name != "state" or not self.active:
            return
        if self.controller.client is None:
            self._ui.call(self._stopped_by_disconnect)
        elif value == "connected":
            if self.paused:
                self.paused = False
                self.message = "Live painting resumed."
                self._queued = None  # a job lost with the server is sent again
                self.schedule()
        elif value in ("reconnecting", "disconnected", "error"):
            self.paused = True
            self.message = PAUSED

    def _stopped_by_disconnect(self) -> None:
        self.stop()
        self.message = "Live painting stopped: disconnected from the server."

    # Helpers --------------------------------------------------------------------------------

    def _document(self) -> LiveCanvas | None:
        return cast("LiveCanvas | None", self.controller.documents.active())

    def _find(self, document_id: str | None) -> LiveCanvas | None:
        if document_id is None:
            return None
        return cast("LiveCanvas | None", self.controller.documents.find(document_id))

    def _read_key(self, document: LiveCanvas) -> object:
        try:
            return document.canvas_key()
        except Exception as e:  # a document being closed: try at the next poll
            log.warning("could not read the canvas state: %s", e)
            return self._key

    def _report(self, error: BaseException) -> None:
        self.message = _painter_message(error)


def poll_interval(base_ms: int, cost_s: float) -> int:
    """The next poll's delay: ``base_ms``, or longer when reading the canvas state is slow
    (large documents, many layers), so polling never takes more than POLL_SHARE of the UI."""
    return max(base_ms, int(cost_s * 1000 / POLL_SHARE))


def _ahead_failed(error: BaseException) -> None:
    # Sending ahead is only a head start: the submit sends (and reports) again.
    log.info("sending the live images ahead failed: %s", error)


async def _cancel_all(client: Any, job_ids: list[str]) -> None:
    for job_id in job_ids:
        await client.cancel(job_id)


def _live_regions(
    document: LiveCanvas, regions: tuple[LayerRegion, ...], bounds: Bounds, target: Extent
) -> tuple[RegionPrompt, ...]:
    """Regions whose layers reach ``bounds``, their masks at the size live painting samples."""
    found = []
    for region in regions:
        if not region.prompt.strip():
            continue
        mask = document.layer_mask(region.layer_id, bounds)
        if mask is not None:
            found.append(RegionPrompt(region.prompt, scaled_png(mask, target)))
    return tuple(found)
