"""A client double with the backend interface the controller uses: models, submit (enqueue),
listen (events pushed by the test), cancel, refresh_models, close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from ai_diffusion.comfy import DeviceInfo, ServerConfig, ServerModels
from ai_diffusion.comfy.events import JobEvent
from ai_diffusion.errors import UserError
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, object_info

_CLOSED = object()


class FakeClient:
    def __init__(self, config: ServerConfig, info: dict[str, Any] | None = None) -> None:
        self.config = config
        self.models = ServerModels.parse(
            info or object_info(),
            [],
            {"devices": [{"name": "cuda:0 Fake GPU", "type": "cuda", "vram_total": 24 * 2**30}]},
        )
        self.models.device = DeviceInfo("Fake GPU", "cuda", 24 * 2**30, 20 * 2**30)
        self.enqueued: list[Any] = []
        self.cancelled: list[str] = []
        self.refreshed = 0
        self.closed = False
        self.events: asyncio.Queue[Any] = asyncio.Queue()

    async def submit(self, request: Any) -> str:
        workflow = build_workflow(request, self.models.object_info)
        return await self.enqueue(workflow)

    async def enqueue(self, workflow: Any) -> str:
        self.enqueued.append(workflow)
        return f"job-{len(self.enqueued)}"

    def push(self, event: JobEvent) -> None:
        self.events.put_nowait(event)

    async def listen(self) -> AsyncIterator[JobEvent]:
        while True:
            event = await self.events.get()
            if event is _CLOSED:
                return
            yield event

    async def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    async def refresh_models(self) -> None:
        self.refreshed += 1
        self.models.checkpoints = [*self.models.checkpoints, "new-model.safetensors"]

    async def close(self) -> None:
        self.closed = True
        self.events.put_nowait(_CLOSED)


class FakeConnector:
    """Stands in for ``ComfyClient.connect``; ``fail`` makes the next connects raise."""

    def __init__(self) -> None:
        self.clients: list[FakeClient] = []
        self.fail: BaseException | None = None
        self.object_info: dict[str, Any] | None = None  # None: the captured one

    async def __call__(self, config: ServerConfig) -> FakeClient:
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        if not config.url:
            raise UserError("Enter the server's address first.")
        client = FakeClient(config, self.object_info)
        self.clients.append(client)
        return client


__all__ = ["CHECKPOINT", "FakeClient", "FakeConnector"]
