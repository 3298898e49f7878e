"""What the job APIs that run a ComfyUI graph (RunPod Serverless, SaladCloud) share: their
workers offer no ``/object_info``, so a request becomes a graph without checking its names
against the server, and the graph is sent as one job."""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..request import GenerationRequest
from ..workflow.builder import Workflow, build_workflow
from .contract import UploadProgress


class GraphJobApi(ABC):
    @abstractmethod
    async def run_workflow(
        self, workflow: Workflow, on_upload: UploadProgress | None = None
    ) -> str:
        """Send ``workflow`` with its input images as one job; its id."""

    async def submit(
        self, request: GenerationRequest, on_upload: UploadProgress | None = None
    ) -> str:
        return await self.run_workflow(build_workflow(request, None), on_upload)
