"""Build ComfyUI API graphs from a :class:`~ai_diffusion.request.GenerationRequest`.

Pure functions, core ComfyUI nodes only, checked against the server's ``/object_info``.
"""

from .builder import Workflow, build_workflow
from .defaults import default_sampling
from .geometry import inpaint_region, sampling_extent
from .validate import WorkflowInvalid, validate_graph, validate_structure

__all__ = [
    "Workflow",
    "WorkflowInvalid",
    "build_workflow",
    "default_sampling",
    "inpaint_region",
    "sampling_extent",
    "validate_graph",
    "validate_structure",
]
