"""The one contract every backend follows, so the controllers and the CLI never care whether a
generation runs on a ComfyUI server over a websocket, a serverless job API or a WebUI.

A backend is created by an async ``connect(config)`` (a class method or a factory) that proves
the server is what it claims, reads what it offers, and raises a ``UserError`` subclass with a
painter-worded message when it cannot. Afterwards:

- ``config``: the (normalised) settings it was connected with; never holds a secret in ``repr``.
- ``models``: a ``ServerModels`` (files, samplers, device); ``refresh_models()`` reads it again.
- ``submit(request, on_upload)``: build what this backend runs from the request contract
  (a ComfyUI graph, a job body, a WebUI payload), send it with its input images, and return the
  job id. Size limits are checked before sending, with a message that says what to do.
- ``listen()``: one async stream of :mod:`ai_diffusion.comfy.events` for this backend's own
  jobs: ``Queued``, ``Started``, ``Progress`` and ``Preview`` where the backend has them,
  then exactly one of ``Finished`` / ``Failed`` / ``Interrupted`` per job, and
  ``ConnectionState`` changes. Meant for one consumer.
- ``cancel(job_id)``: stop this client's own job, never anybody else's.
- ``prepare(request)`` (optional; the ComfyUI client has it): send the request's input images
  ahead, so a later ``submit`` of the same request posts only the job (live painting).
- ``close()``: end the connection; outstanding jobs on the server are not touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from ..comfy.events import JobEvent
from ..comfy.models import ServerModels
from ..request import GenerationRequest

UploadProgress = Callable[[int, int], None]  # (bytes sent, bytes total)


class Backend(Protocol):
    config: Any
    models: ServerModels

    async def refresh_models(self) -> ServerModels: ...

    async def submit(
        self, request: GenerationRequest, on_upload: UploadProgress | None = None
    ) -> str: ...

    def listen(self) -> AsyncIterator[JobEvent]: ...

    async def cancel(self, job_id: str) -> None: ...

    async def close(self) -> None: ...
