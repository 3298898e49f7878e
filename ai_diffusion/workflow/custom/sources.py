"""Where a custom workflow comes from: a JSON file (API format or the page's format), a PNG
saved by ComfyUI (the workflow in its text chunks), or the server's saved workflows (read by
``ai_diffusion.comfy.userdata``, handed here as bytes)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..object_info import ObjectInfo
from .checks import check_graph
from .convert import Graph, convert, is_page_format
from .png_text import SIGNATURE, png_text
from .problems import WorkflowProblem


@dataclass(frozen=True)
class WorkflowSource:
    """A workflow as found: in the page's format, as an API graph, or both (a PNG)."""

    name: str
    page: dict[str, Any] | None = None
    api: Graph | None = None

    def to_api(self, info: ObjectInfo) -> Graph:
        """The API graph to run on a server with ``info``, checked: raises
        :class:`~.problems.MissingNodes` / :class:`~.problems.MissingModels`."""
        graph = convert(self.page, info) if self.page is not None else copy.deepcopy(self.api)
        if graph is None:
            raise WorkflowProblem(f"{self.name} holds no workflow.")
        check_graph(graph, info)
        return graph


def is_api_format(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and bool(data)
        and all(isinstance(n, dict) and "class_type" in n for n in data.values())
    )


def read_workflow(data: bytes, name: str) -> WorkflowSource:
    """A workflow from the bytes of a JSON file or of a PNG made by ComfyUI."""
    if data.startswith(SIGNATURE):
        return _from_png(data, name)
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise WorkflowProblem(
            f"{name} is not a ComfyUI workflow (neither JSON nor a PNG). Save the workflow "
            "from ComfyUI (Workflow → Save or Export) and use that file."
        ) from None
    return from_json(parsed, name)


def from_json(parsed: Any, name: str) -> WorkflowSource:
    if is_page_format(parsed):
        return WorkflowSource(name, page=parsed)
    if is_api_format(parsed):
        return WorkflowSource(name, api=parsed)
    if isinstance(parsed, dict):  # wrapped, as some tools save it
        page, api = parsed.get("workflow"), parsed.get("prompt")
        if is_page_format(page) or is_api_format(api):
            return WorkflowSource(
                name,
                page=page if is_page_format(page) else None,
                api=api if is_api_format(api) else None,
            )
    raise WorkflowProblem(
        f"{name} is JSON, but not a ComfyUI workflow. Save the workflow from ComfyUI "
        "(Workflow → Save or Export) and use that file."
    )


def _from_png(data: bytes, name: str) -> WorkflowSource:
    chunks = png_text(data)
    page = _json_or_none(chunks.get("workflow"))
    api = _json_or_none(chunks.get("prompt"))
    if not is_page_format(page) and not is_api_format(api):
        raise WorkflowProblem(
            f"The image {name} holds no ComfyUI workflow. Only PNG images saved by ComfyUI "
            "(Save Image) carry the workflow that made them."
        )
    return WorkflowSource(
        name,
        page=page if is_page_format(page) else None,
        api=api if is_api_format(api) else None,
    )


def _json_or_none(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def load_workflow(path: Path) -> WorkflowSource:
    """A workflow from a file: JSON (either format) or a PNG made by ComfyUI."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise WorkflowProblem(f"The workflow file {path} cannot be read ({e.strerror}).") from e
    return read_workflow(data, path.name)
