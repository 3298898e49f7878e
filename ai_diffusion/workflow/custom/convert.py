"""The page's format of a ComfyUI workflow (what the ComfyUI page saves: ``nodes``, ``links``,
``groups``, ``definitions.subgraphs``) → the API graph the server runs.

Follows what the ComfyUI frontend does when it queues a workflow: widget values by the node's
widget order (``widgets.py``); links followed through reroutes, primitive nodes (their value
goes to the widget they feed), bypassed nodes (the input of the same type passes through) and
subgraphs (flattened: inner node ``5`` of subgraph node ``12`` becomes ``12:5``); notes
dropped; muted nodes removed, and with them every node that needed one of them. Nodes that
feed no output are left out (the server would not run them). Each node's ``_meta`` holds its
title and, when it lies in a group, the group's title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..object_info import ObjectInfo
from .problems import MissingNodes, WorkflowProblem
from .widgets import default_value, ordered_inputs, widget_values, widgets

NOTES = {"Note", "MarkdownNote"}
REROUTES = {"Reroute"}
PRIMITIVE = "PrimitiveNode"
MUTED, BYPASSED = 2, 4
SUBGRAPH_IN, SUBGRAPH_OUT = "-10", "-20"
GROUP_NODE_PREFIXES = ("workflow>", "workflow/")  # old pages' group nodes

Graph = dict[str, dict[str, Any]]


@dataclass
class _Node:
    id: str
    type: str
    mode: int
    title: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    links_in: list[str | None]  # per input slot: the (scoped) link arriving there
    values: Any
    group: str | None
    expanded: bool = False  # a subgraph node whose inside was added: passes through
    boundary: str = ""  # "in" / "out": the inside ends of a subgraph
    owner: str = ""  # a boundary's subgraph node
    has_links: bool = False


@dataclass(frozen=True)
class _Link:
    origin: str
    origin_slot: int
    target: str
    target_slot: int
    type: str


@dataclass(frozen=True)
class _Value:
    value: Any


_LOST = object()  # the link came from a muted node (or a bypass with nothing to pass)


@dataclass
class _Flat:
    nodes: dict[str, _Node] = field(default_factory=dict)
    links: dict[str, _Link] = field(default_factory=dict)


def is_page_format(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("nodes"), list)


def convert(workflow: dict[str, Any], info: ObjectInfo) -> Graph:
    """The API graph of ``workflow`` (the page's format) for a server with ``info``.

    Raises :class:`MissingNodes` when the server lacks node types the workflow uses, and
    :class:`WorkflowProblem` when nothing would be left to run."""
    flat = _Flat()
    definitions = workflow.get("definitions")
    subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
    by_id = {
        str(s["id"]): s for s in subgraphs or [] if isinstance(s, dict) and s.get("id") is not None
    }
    _add_scope(flat, workflow, "", None, by_id, ())
    return _Converter(flat, info).graph()


def _add_scope(
    flat: _Flat,
    scope: dict[str, Any],
    prefix: str,
    outer_group: str | None,
    subgraphs: dict[str, dict[str, Any]],
    parents: tuple[str, ...],
) -> None:
    groups = [g for g in scope.get("groups") or [] if isinstance(g, dict)]
    for raw in scope.get("links") or []:
        read = _read_link(raw)
        if read is not None:
            key, origin, o_slot, target, t_slot, type_ = read
            flat.links[prefix + key] = _Link(
                prefix + origin, o_slot, prefix + target, t_slot, type_
            )
    for raw in scope.get("nodes") or []:
        if not isinstance(raw, dict) or raw.get("id") is None:
            continue
        inputs = [i for i in raw.get("inputs") or [] if isinstance(i, dict)]
        outputs = [o for o in raw.get("outputs") or [] if isinstance(o, dict)]
        links_in = [None if i.get("link") is None else prefix + str(i["link"]) for i in inputs]
        node = _Node(
            id=prefix + str(raw["id"]),
            type=str(raw.get("type") or ""),
            mode=_int(raw.get("mode")),
            title=str(raw.get("title") or ""),
            inputs=inputs,
            outputs=outputs,
            links_in=links_in,
            values=raw.get("widgets_values"),
            group=_group_of(raw, groups) or outer_group,
            has_links=any(links_in) or any(o.get("links") for o in outputs),
        )
        flat.nodes[node.id] = node
        inner = subgraphs.get(node.type)
        if inner is None or node.mode in (MUTED, BYPASSED) or node.type in parents:
            continue
        node.expanded = True
        inside = node.id + ":"
        flat.nodes[inside + SUBGRAPH_IN] = _Node(
            inside + SUBGRAPH_IN, "", 0, "", [], [], [], None, None, boundary="in", owner=node.id
        )
        outs = [o for o in inner.get("outputs") or [] if isinstance(o, dict)]
        flat.nodes[inside + SUBGRAPH_OUT] = _Node(
            inside + SUBGRAPH_OUT, "", 0, "", outs, [], [None] * len(outs), None, None,
            boundary="out", owner=node.id,
        )  # fmt: skip
        _add_scope(flat, inner, inside, node.group, subgraphs, (*parents, node.type))
    for key, link in flat.links.items():  # the inside ends of the subgraph outputs
        end = flat.nodes.get(link.target)
        if end is not None and end.boundary == "out" and link.target_slot < len(end.links_in):
            end.links_in[link.target_slot] = key


def _read_link(raw: Any) -> tuple[str, str, int, str, int, str] | None:
    """A link as [id, origin, origin slot, target, target slot, type] or as an object."""
    if isinstance(raw, list) and len(raw) >= 5:
        key, origin, o_slot, target, t_slot = raw[:5]
        type_ = raw[5] if len(raw) > 5 else ""
    elif isinstance(raw, dict):
        key, origin, o_slot = raw.get("id"), raw.get("origin_id"), raw.get("origin_slot")
        target, t_slot, type_ = raw.get("target_id"), raw.get("target_slot"), raw.get("type")
    else:
        return None
    if key is None or origin is None or target is None:
        return None
    return str(key), str(origin), _int(o_slot), str(target), _int(t_slot), str(type_ or "")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _group_of(node: dict[str, Any], groups: list[dict[str, Any]]) -> str | None:
    """The title of the smallest group holding the node's centre."""
    pos, size = node.get("pos"), node.get("size")
    try:
        x, y = float(pos[0]), float(pos[1])  # type: ignore[index]
        if isinstance(size, (list, tuple)) and len(size) >= 2:
            x, y = x + float(size[0]) / 2, y + float(size[1]) / 2
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    best: tuple[float, str] | None = None
    for group in groups:
        try:
            gx, gy, gw, gh = (float(v) for v in group["bounding"][:4])
        except (TypeError, ValueError, KeyError):
            continue
        if gx <= x <= gx + gw and gy <= y <= gy + gh and (best is None or gw * gh < best[0]):
            best = (gw * gh, str(group.get("title") or ""))
    return best[1] if best else None


class _Converter:
    def __init__(self, flat: _Flat, info: ObjectInfo) -> None:
        self.flat = flat
        self.info = info

    def graph(self) -> Graph:
        runs = [n for n in self.flat.nodes.values() if self._runs(n)]
        legacy = sorted({n.type for n in runs if n.type.startswith(GROUP_NODE_PREFIXES)})
        if legacy:
            raise WorkflowProblem(
                f"This workflow uses a group node of an older ComfyUI page ({legacy[0]}). "
                "Open it in a current ComfyUI (which turns group nodes into subgraphs), save "
                "it again and use that file."
            )
        missing = [n.type for n in runs if n.type not in self.info and n.has_links]
        if missing:
            raise MissingNodes(missing)
        graph: Graph = {}
        broken: set[str] = set()
        for node in runs:
            if node.type in self.info:
                graph[node.id], lost = self._api_node(node)
                if lost:
                    broken.add(node.id)
        _remove_broken(graph, broken, self.info)
        return _keep_outputs(graph, self.info)

    def _runs(self, node: _Node) -> bool:
        virtual = node.type in NOTES or node.type in REROUTES or node.type == PRIMITIVE
        return not (virtual or node.boundary or node.expanded or node.mode in (MUTED, BYPASSED))

    def _api_node(self, node: _Node) -> tuple[dict[str, Any], bool]:
        """The node's API entry, and whether a required input was lost to a muted node."""
        values = widget_values(self.info, node.type, node.values)
        inputs: dict[str, Any] = {}
        for widget in widgets(self.info, node.type):
            if not widget.upload:
                inputs[widget.name] = values.get(widget.name, default_value(widget.spec))
        required = {name for name, _, req in ordered_inputs(self.info, node.type) if req}
        lost = False
        for slot, link in zip(node.inputs, node.links_in, strict=True):
            if link is None:
                continue
            as_widget = slot.get("widget")
            name = str(as_widget.get("name") if isinstance(as_widget, dict) else slot.get("name"))
            source = self._source(link)
            if isinstance(source, _Value):
                inputs[name] = source.value
            elif isinstance(source, list):
                inputs[name] = source
            elif source is _LOST and name not in inputs:
                lost = lost or name in required
        display = self.info[node.type].get("display_name") if node.type in self.info else None
        meta: dict[str, Any] = {"title": node.title or display or node.type}
        if node.group:
            meta["group"] = node.group
        return {"inputs": inputs, "class_type": node.type, "_meta": meta}, lost

    def _source(self, link_key: str | None) -> Any:
        """What arrives over a link: [node id, slot], a _Value, _LOST, or None (nothing)."""
        seen: set[str] = set()
        while link_key is not None and link_key not in seen:
            seen.add(link_key)
            link = self.flat.links.get(link_key)
            node = self.flat.nodes.get(link.origin) if link else None
            if link is None or node is None:
                return None
            slot = link.origin_slot
            if node.boundary == "in":
                link_key = self._into_subgraph(node, slot)
                if isinstance(link_key, _Value):
                    return link_key
            elif node.expanded:
                link_key = self.flat.nodes[node.id + ":" + SUBGRAPH_OUT].links_in[slot]
            elif node.mode == MUTED:
                return _LOST
            elif node.type in REROUTES:
                link_key = node.links_in[0] if node.links_in else None
            elif node.type == PRIMITIVE:
                values = node.values if isinstance(node.values, list) else []
                return _Value(values[0]) if values else None
            elif node.mode == BYPASSED:
                link_key = _bypassed(node, slot, link.type)
                if link_key is None:
                    return _LOST
            else:
                return [node.id, slot]
        return None

    def _into_subgraph(self, boundary: _Node, slot: int) -> Any:
        """The link into the subgraph node's input ``slot``, or the value of its widget."""
        owner = self.flat.nodes[boundary.owner]
        if slot < len(owner.links_in) and owner.links_in[slot] is not None:
            return owner.links_in[slot]
        promoted = [i for i, s in enumerate(owner.inputs) if isinstance(s.get("widget"), dict)]
        values = owner.values if isinstance(owner.values, list) else []
        if slot in promoted and len(values) == len(promoted):
            return _Value(values[promoted.index(slot)])
        return None


def _bypassed(node: _Node, slot: int, link_type: str) -> str | None:
    """The link a bypassed node passes on for its output ``slot``: its input at the same
    place if of the same type, else its first input of that type (the frontend's rule)."""
    outputs = node.outputs
    wanted = outputs[slot].get("type") if slot < len(outputs) else link_type
    order = [slot, *range(len(node.inputs))]
    for i in order:
        if i < len(node.inputs) and node.inputs[i].get("type") == wanted:
            return node.links_in[i]
    return None


def _remove_broken(graph: Graph, broken: set[str], info: ObjectInfo) -> None:
    """Remove ``broken`` nodes and, in turn, every node that needed one of them."""
    while broken:
        for node_id in broken:
            graph.pop(node_id, None)
        broken = set()
        for node_id, node in graph.items():
            required = {n for n, _, req in ordered_inputs(info, node["class_type"]) if req}
            for name, value in list(node["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and str(value[0]) not in graph:
                    del node["inputs"][name]
                    if name in required:
                        broken.add(node_id)


def _keep_outputs(graph: Graph, info: ObjectInfo) -> Graph:
    """Only the output nodes and what they need, in the order of their ids."""
    todo = [i for i, n in graph.items() if info.get(n["class_type"], {}).get("output_node")]
    if not todo:
        raise WorkflowProblem(
            "This workflow has nothing to run: it has no output node that is switched on (Save "
            "Image or Preview Image, not muted or bypassed). Add one in ComfyUI and save it "
            "again."
        )
    needed: set[str] = set()
    while todo:
        node_id = todo.pop()
        if node_id in needed:
            continue
        needed.add(node_id)
        for value in graph[node_id]["inputs"].values():
            if isinstance(value, list) and len(value) == 2 and str(value[0]) in graph:
                todo.append(str(value[0]))
    return {i: graph[i] for i in sorted(needed, key=node_order)}


def node_order(node_id: str) -> list[tuple[int, str]]:
    """Sort key of node ids like "3", "12:5": numerically, part by part."""
    return [(int(p), "") if p.lstrip("-").isdigit() else (0, p) for p in node_id.split(":")]
