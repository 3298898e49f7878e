"""A ComfyUI API-format graph under construction, with typed outputs and de-duplication."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Output:
    """Output ``index`` of node ``node``, of ComfyUI type ``type`` (MODEL, IMAGE, …)."""

    node: str
    index: int
    type: str

    def link(self) -> list[Any]:
        return [self.node, self.index]


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = {}
        self._seen: dict[str, str] = {}

    def add(self, class_type: str, outputs: tuple[str, ...], **inputs: Any) -> tuple[Output, ...]:
        """Add a node (or reuse an identical one) and return its outputs."""
        node_id = self.node(class_type, **inputs)
        return tuple(Output(node_id, i, t) for i, t in enumerate(outputs))

    def node(self, class_type: str, **inputs: Any) -> str:
        """Add a node (or reuse an identical one) and return its id."""
        api_inputs = {k: v.link() if isinstance(v, Output) else v for k, v in inputs.items()}
        key = json.dumps([class_type, api_inputs], sort_keys=True)
        node_id = self._seen.get(key)
        if node_id is None:
            node_id = str(len(self.nodes) + 1)
            self.nodes[node_id] = {"class_type": class_type, "inputs": api_inputs}
            self._seen[key] = node_id
        return node_id

    def add1(self, class_type: str, output: str, **inputs: Any) -> Output:
        return self.add(class_type, (output,), **inputs)[0]

    def to_api(self) -> dict[str, dict[str, Any]]:
        return json.loads(json.dumps(self.nodes))
