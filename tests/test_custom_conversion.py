"""Custom workflows: the page's format → the API graph, checks against the server, PNG
sources, and the mapping to Krita (prompts, seeds, parameters, images, outputs)."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from ai_diffusion.workflow.custom import (
    MappingValues,
    MissingModels,
    MissingNodes,
    WorkflowProblem,
    apply,
    convert,
    derive_mapping,
    from_json,
    read_workflow,
    resolve_key,
)
from ai_diffusion.workflow.custom.png_text import png_text
from ai_diffusion.workflow.custom.widgets import widget_values
from tests.comfy_fixtures import object_info

DATA = Path(__file__).parent / "data" / "workflows"
CASES = [
    "control_after_generate",
    "primitive",
    "reroute",
    "muted",
    "bypassed",
    "groups",
    "subgraph",
    "inpaint",
]
MISSING_NODE = (
    "This workflow needs the custom node {}, which the server does not have. Install it on the "
    "server (ComfyUI-Manager) or choose another workflow."
)


def page(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text())


def expected(name: str) -> dict:
    return json.loads((DATA / f"{name}.api.json").read_text())


@pytest.fixture(scope="module")
def info() -> dict:
    return object_info("0.33.0")


@pytest.mark.parametrize("name", CASES)
def test_conversion_equals_the_hand_made_api_graph(name: str, info: dict) -> None:
    assert convert(page(name), info) == expected(name)


@pytest.mark.parametrize("name", CASES)
def test_older_server_gives_the_same_graph_but_for_titles(name: str) -> None:
    """0.8.0 names some nodes differently (display names), nothing else changes."""
    got = convert(page(name), object_info("0.8.0"))
    want = expected(name)
    assert {k: {**n, "_meta": {}} for k, n in got.items()} == {
        k: {**n, "_meta": {}} for k, n in want.items()
    }


def test_the_files_are_small_and_in_the_pages_format() -> None:
    for name in CASES:
        data = page(name)
        assert data["version"] == 0.4 and 4 <= len(data["nodes"]) <= 12, name


def test_control_after_generate_value_is_skipped_only_after_a_seed(info: dict) -> None:
    values = widget_values(info, "KSampler", [9, "increment", 20, 5.5, "euler", "karras", 0.5])
    assert values == {
        "seed": 9,
        "steps": 20,
        "cfg": 5.5,
        "sampler_name": "euler",
        "scheduler": "karras",
        "denoise": 0.5,
    }
    # a file saved by a page that wrote no control value
    assert widget_values(info, "KSampler", [9, 20, 5.5, "euler", "karras", 0.5])["steps"] == 20
    # the upload button of Load Image (as Mask) comes after its required widgets
    assert widget_values(info, "LoadImageMask", ["a.png", "red", "image"]) == {
        "image": "a.png",
        "channel": "red",
    }


def test_muted_output_and_its_only_user_leave(info: dict) -> None:
    data = page("muted")
    graph = convert(data, info)
    assert "10" not in graph and "11" not in graph  # muted ImageScale, its PreviewImage


def test_nothing_left_to_run_is_said(info: dict) -> None:
    data = page("control_after_generate")
    for node in data["nodes"]:
        if node["type"] == "SaveImage":
            node["mode"] = 2
    with pytest.raises(WorkflowProblem, match="nothing to run"):
        convert(data, info)


def test_a_muted_loader_takes_what_needs_it_along(info: dict) -> None:
    data = page("bypassed")
    lora = next(n for n in data["nodes"] if n["type"] == "LoraLoader")
    lora["mode"] = 2  # muted instead of bypassed: sampler and prompts lose their inputs
    with pytest.raises(WorkflowProblem, match="nothing to run"):
        convert(data, info)


def test_missing_custom_node_is_one_sentence(info: dict) -> None:
    data = page("control_after_generate")
    data["nodes"].append(
        {"id": 20, "type": "ImpactWildcardEncode", "mode": 0, "pos": [0, 0], "size": [1, 1],
         "inputs": [{"name": "clip", "type": "CLIP", "link": 30}], "widgets_values": ["x"]}
    )  # fmt: skip
    data["links"].append([30, 4, 1, 20, 0, "CLIP"])
    with pytest.raises(MissingNodes) as caught:
        from_json(data, "mine.json").to_api(info)
    assert caught.value.message == MISSING_NODE.format("ImpactWildcardEncode")


def test_several_missing_custom_nodes_are_listed(info: dict) -> None:
    with pytest.raises(MissingNodes) as caught:
        read_workflow((DATA / "custom_node.json").read_bytes(), "custom_node.json").to_api(info)
    assert caught.value.nodes == ["ImpactImageSharpen", "easy imageSave"]
    assert "custom nodes ImpactImageSharpen and easy imageSave" in caught.value.message
    assert caught.value.message.count(".") == 2  # one sentence, one hint


def test_missing_node_in_an_api_file(info: dict) -> None:
    graph = expected("control_after_generate")
    graph["20"] = {"class_type": "UltimateSDUpscale", "inputs": {"image": ["8", 0]}}
    with pytest.raises(MissingNodes) as caught:
        from_json(graph, "api.json").to_api(info)
    assert caught.value.message == MISSING_NODE.format("UltimateSDUpscale")


def test_an_unlinked_unknown_node_is_only_decoration(info: dict) -> None:
    data = page("control_after_generate")
    data["nodes"].append({"id": 30, "type": "Label (rgthree)", "mode": 0, "pos": [0, 0]})
    assert convert(data, info) == expected("control_after_generate")


def test_missing_model_names_file_and_folder(info: dict) -> None:
    data = page("inpaint")
    for node in data["nodes"]:
        if node["type"] == "LoraLoader":
            node["widgets_values"][0] = "detail-tweaker.safetensors"
    with pytest.raises(MissingModels) as caught:
        from_json(data, "inpaint.json").to_api(info)
    assert caught.value.message.startswith(
        "This workflow uses the model detail-tweaker.safetensors (in models/loras), which the "
        "server does not have."
    )


def _png(**chunks: str) -> bytes:
    meta = PngInfo()
    for key, text in chunks.items():
        if key.startswith("z_"):
            meta.add_text(key[2:], text, zip=True)
        elif key.startswith("i_"):
            meta.add_itxt(key[2:], text, zip=True)
        else:
            meta.add_text(key, text)
    buffer = io.BytesIO()
    PILImage.new("RGB", (8, 8), (1, 2, 3)).save(buffer, "PNG", pnginfo=meta)
    return buffer.getvalue()


def test_png_made_by_comfyui_carries_its_workflow(info: dict) -> None:
    data = _png(
        prompt=json.dumps(expected("groups")), workflow=json.dumps(page("groups"))
    )  # as ComfyUI's SaveImage writes them: tEXt "prompt" (API) and "workflow" (page)
    source = read_workflow(data, "ComfyUI_00001_.png")
    assert source.page == page("groups") and source.api == expected("groups")
    assert source.to_api(info) == expected("groups")  # the page's format wins (groups, titles)


def test_png_with_only_the_api_graph_and_compressed_chunks(info: dict) -> None:
    api = expected("inpaint")
    assert read_workflow(_png(z_prompt=json.dumps(api)), "z.png").to_api(info) == api
    text = json.dumps(page("primitive"), ensure_ascii=False).replace("fox", "Fuchs ü")
    assert json.loads(png_text(_png(i_workflow=text))["workflow"]) == json.loads(text)


def test_png_without_a_workflow_says_so() -> None:
    with pytest.raises(WorkflowProblem, match="holds no ComfyUI workflow"):
        read_workflow(_png(Software="Krita"), "sketch.png")


def test_other_json_is_refused() -> None:
    with pytest.raises(WorkflowProblem, match="not a ComfyUI workflow"):
        read_workflow(b'{"hello": 1}', "x.json")
    with pytest.raises(WorkflowProblem, match="neither JSON nor a PNG"):
        read_workflow(b"\x00\x01", "x.bin")


# The mapping ----------------------------------------------------------------------------------


def _through_control_net() -> dict:
    """The prompts reach the sampler through a ControlNet node (API format)."""
    graph = expected("inpaint")
    graph["20"] = {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "x"}}
    graph["21"] = {
        "class_type": "ControlNetApplyAdvanced",
        "inputs": {"positive": ["6", 0], "negative": ["7", 0], "control_net": ["20", 0],
                   "image": ["11", 0], "strength": 1.0, "start_percent": 0.0,
                   "end_percent": 1.0},
    }  # fmt: skip
    graph["3"]["inputs"]["positive"] = ["21", 0]
    graph["3"]["inputs"]["negative"] = ["21", 1]
    return graph


def test_mapping_finds_prompts_through_links_seeds_images_outputs(info: dict) -> None:
    mapping = derive_mapping(_through_control_net(), info)
    assert [(p.node, p.input, p.role, p.text) for p in mapping.prompts] == [
        ("6", "text", "positive", "a cat"),
        ("7", "text", "negative", ""),
    ]
    assert [(s.node, s.input, s.value) for s in mapping.seeds] == [("3", "seed", 5)]
    assert [(i.node, i.kind, i.layer) for i in mapping.images] == [
        ("11", "image", None),
        ("12", "mask", None),
    ]
    assert [(o.node, o.class_type, o.layer) for o in mapping.outputs] == [
        ("9", "SaveImage", "Inpainted")
    ]


def test_param_marker_gives_typed_controls_with_the_servers_limits(info: dict) -> None:
    mapping = derive_mapping(convert(page("groups"), info), info)
    params = {p.key: p for p in mapping.parameters}
    assert list(params) == ["3.steps", "3.cfg", "3.sampler_name"]
    steps, cfg, sampler = params["3.steps"], params["3.cfg"], params["3.sampler_name"]
    assert (steps.kind, steps.default, steps.minimum, steps.maximum) == ("int", 2, 1, 10000)
    assert (cfg.kind, cfg.minimum, cfg.maximum, cfg.step) == ("float", 0.0, 100.0, 0.1)
    assert sampler.kind == "combo" and sampler.choices == tuple(
        info["KSampler"]["input"]["required"]["sampler_name"][0]
    )
    assert steps.label == "Sampler · steps"
    assert mapping.outputs[0].layer == "AI result" and mapping.outputs[0].title == "Result"
    assert [p.node for p in mapping.prompts] == ["6", "7"]


def test_every_widget_of_a_bare_param_title(info: dict) -> None:
    graph = expected("control_after_generate")
    graph["5"]["_meta"]["title"] = "Size [PARAM]"
    params = derive_mapping(graph, info).parameters
    assert [p.key for p in params] == ["5.width", "5.height", "5.batch_size"]


def test_picked_widgets_by_id_or_title(info: dict) -> None:
    graph = convert(page("groups"), info)
    mapping = derive_mapping(graph, info, ("Positive.text", "5.width"))
    assert {"6.text", "5.width"} <= {p.key for p in mapping.parameters}
    assert mapping.parameter("6.text").kind == "text"  # type: ignore[union-attr]
    with pytest.raises(WorkflowProblem, match="no node has that id or title"):
        resolve_key(graph, "Nope.steps")
    with pytest.raises(WorkflowProblem, match="has no input"):
        resolve_key(graph, "3.nope")


def test_apply_sets_values_in_a_copy(info: dict) -> None:
    mapping = derive_mapping(convert(page("inpaint"), info), info, ("3.steps", "3.sampler_name"))
    before = copy.deepcopy(mapping.graph)
    values = MappingValues(
        prompt="a dog",
        negative="ugly",
        seed=77,
        images={"11": "aid-canvas.png", "12": "aid-mask.png"},
        parameters={"3.steps": "4", "3.sampler_name": "dpmpp_2m"},
    )
    stored = json.loads(json.dumps(values.to_json()))  # a UI keeps them as JSON
    graph = apply(mapping, MappingValues.from_json(stored))
    assert mapping.graph == before
    assert graph["6"]["inputs"]["text"] == "a dog" and graph["7"]["inputs"]["text"] == "ugly"
    assert graph["3"]["inputs"]["seed"] == 77 and graph["3"]["inputs"]["steps"] == 4
    assert graph["3"]["inputs"]["sampler_name"] == "dpmpp_2m"
    assert graph["11"]["inputs"]["image"] == "aid-canvas.png"
    assert graph["12"]["inputs"] == {"image": "aid-mask.png", "channel": "red"}


def test_values_outside_the_servers_limits_are_refused(info: dict) -> None:
    mapping = derive_mapping(convert(page("groups"), info), info)
    with pytest.raises(WorkflowProblem, match="from 1 to 10000"):
        apply(mapping, MappingValues(parameters={"3.steps": 0}))
    with pytest.raises(WorkflowProblem, match="choose one of"):
        apply(mapping, MappingValues(parameters={"3.sampler_name": "warp"}))
    with pytest.raises(WorkflowProblem, match="no parameter 5.width"):
        apply(mapping, MappingValues(parameters={"5.width": 64}))


def test_layer_titled_image_input(info: dict) -> None:
    graph = expected("inpaint")
    graph["11"]["_meta"]["title"] = "Sketch [layer: Line art]"
    image = derive_mapping(graph, info).images[0]
    assert (image.layer, image.title) == ("Line art", "Sketch")


def test_nested_subgraphs_are_flattened_with_prefixed_ids(info: dict) -> None:
    data = page("subgraph")
    inner = data["definitions"]["subgraphs"][0]
    instance = next(n for n in data["nodes"] if n["type"] == inner["id"])
    wrapper = {
        **{k: inner[k] for k in ("version", "state", "revision", "config", "inputNode")},
        **{k: inner[k] for k in ("outputNode", "inputs", "outputs", "widgets", "extra")},
        "id": "wrapper",
        "name": "Wrapper",
        "groups": [],
        "nodes": [{**instance, "id": 1, "inputs": [
            {**slot, "link": i + 1} for i, slot in enumerate(instance["inputs"])
        ], "outputs": [{**instance["outputs"][0], "links": [6]}]}],
        "links": [
            *({"id": i + 1, "origin_id": -10, "origin_slot": i, "target_id": 1,
               "target_slot": i, "type": s["type"]} for i, s in enumerate(instance["inputs"])),
            {"id": 6, "origin_id": 1, "origin_slot": 0, "target_id": -20, "target_slot": 0,
             "type": "IMAGE"},
        ],
    }  # fmt: skip
    data["definitions"]["subgraphs"].append(wrapper)
    instance["type"] = "wrapper"
    want = expected("subgraph")
    renamed = json.loads(json.dumps(want).replace('"10:', '"10:1:'))
    assert convert(data, info) == renamed
    assert {"10:1:1", "10:1:2"} <= set(renamed)


def test_a_subgraph_widget_set_on_the_subgraph_node(info: dict) -> None:
    """A widget of an inner node exposed as an input of the subgraph node: the value the
    painter set there reaches the inner node."""
    data = page("subgraph")
    inner = data["definitions"]["subgraphs"][0]
    inner["inputs"].append({"id": "seed-in", "name": "seed", "type": "INT", "linkIds": [8]})
    sampler = next(n for n in inner["nodes"] if n["type"] == "KSampler")
    sampler["inputs"].append({"name": "seed", "type": "INT", "link": 8, "widget": {"name": "seed"}})
    inner["links"].append(
        {"id": 8, "origin_id": -10, "origin_slot": 5, "target_id": 1, "target_slot": 4,
         "type": "INT"}
    )  # fmt: skip
    instance = next(n for n in data["nodes"] if n["type"] == inner["id"])
    instance["inputs"].append(
        {"name": "seed", "type": "INT", "link": None, "widget": {"name": "seed"}}
    )
    instance["widgets_values"] = [1234]
    assert convert(data, info)["10:1"]["inputs"]["seed"] == 1234


def test_old_group_nodes_ask_for_a_fresh_save(info: dict) -> None:
    data = page("control_after_generate")
    data["nodes"][0]["type"] = "workflow>Loader"
    with pytest.raises(WorkflowProblem, match="group node of an older ComfyUI page"):
        convert(data, info)
