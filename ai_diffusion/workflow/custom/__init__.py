"""Custom ComfyUI workflows: read them (``sources``), turn the page's format into the API
graph (``convert``), check them against the server (``checks``), and find and set what Krita
gives them (``mapping``). Pure: no Qt, no network."""

from .checks import check_graph
from .convert import convert
from .mapping import (
    ImageInput,
    MappingValues,
    OutputImage,
    Parameter,
    PromptInput,
    SeedInput,
    WorkflowMapping,
    apply,
    derive_mapping,
    resolve_key,
)
from .problems import MissingModels, MissingNodes, WorkflowProblem
from .sources import WorkflowSource, from_json, load_workflow, read_workflow

__all__ = [
    "ImageInput",
    "MappingValues",
    "MissingModels",
    "MissingNodes",
    "OutputImage",
    "Parameter",
    "PromptInput",
    "SeedInput",
    "WorkflowMapping",
    "WorkflowProblem",
    "WorkflowSource",
    "apply",
    "check_graph",
    "convert",
    "derive_mapping",
    "from_json",
    "load_workflow",
    "read_workflow",
    "resolve_key",
]
