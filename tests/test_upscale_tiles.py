"""Upscale with a tiled refine: the tiles, the graph, and the pixels it gives on the fake
executor (which samples each latent pixel from itself alone, so a correct tiling gives what one
refine of the whole image gives)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_diffusion.request import (
    Extent,
    GenerationRequest,
    Image,
    InvalidRequest,
    Mode,
    Resolution,
    Sampling,
    UpscaleRef,
)
from ai_diffusion.workflow import Workflow, build_workflow
from ai_diffusion.workflow.upscale_tiles import plan_tiles, spans
from tests.comfy_fixtures import CHECKPOINT, object_info
from tests.fakes.comfy_validation import validate
from tests.fakes.executor import decode_png, encode_png, execute

UPSCALER = "random-compact-4x.safetensors"
INFO = {v: object_info(v) for v in ("0.8.0", "0.33.0")}


def run(workflow: Workflow) -> np.ndarray:
    outputs = execute(workflow.graph, lambda name: workflow.inputs[name])
    (result,) = outputs[workflow.output_node]
    return decode_png(result).astype(np.int16)


def smooth_picture(width: int, height: int) -> np.ndarray:
    """Soft colour fields with some texture: what a finished painting looks like up close."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 128 + 100 * np.sin(x / 9) * np.cos(y / 13)
    g = 60 + 150 * x / width
    b = 200 - 150 * y / height
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def upscale_request(width: int, height: int, **changes: object) -> GenerationRequest:
    picture = Image.from_png(encode_png(smooth_picture(width, height)))
    up = dict(model=UPSCALER, factor=2.0, refine=0.5, tile_size=64, tile_overlap=16)
    up.update(changes)
    return GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="a fox",
        sampling=Sampling(steps=2, seed=7),
        image=picture,
        upscale=UpscaleRef(**up),  # type: ignore[arg-type]
    )


# The tiles -------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    width=st.integers(12, 3000),
    height=st.integers(12, 3000),
    tile=st.sampled_from([64, 96, 512, 768, 1024, 1328]),
    overlap=st.integers(0, 256),
    multiple=st.sampled_from([8, 16]),
)
def test_tiles_cover_the_image_from_inside(
    width: int, height: int, tile: int, overlap: int, multiple: int
) -> None:
    extent = Extent(width, height)
    tiles = plan_tiles(extent, tile, overlap, multiple)
    covered = np.zeros((height, width), bool)
    for t in tiles:
        b = t.bounds
        assert b.x >= 0 and b.y >= 0 and b.x + b.width <= width and b.y + b.height <= height
        assert b.width <= tile and b.height <= tile
        # a tile smaller than the image is as large as the latent allows
        assert b.width == width or b.width % multiple == 0
        covered[b.y : b.y + b.height, b.x : b.x + b.width] = True
    assert covered.all()


@settings(max_examples=300, deadline=None)
@given(length=st.integers(64, 5000), tile=st.integers(64, 1536), overlap=st.integers(0, 256))
def test_neighbours_share_the_overlap(length: int, tile: int, overlap: int) -> None:
    parts = spans(length, tile, overlap)
    size = parts[0][1]
    wanted = min(overlap, size // 2)
    assert parts[0][0] == 0 and parts[-1][0] + parts[-1][1] == length
    for (a, width), (b, _) in zip(parts, parts[1:], strict=False):
        shared = a + width - b
        assert shared >= wanted and shared > 0
        assert b > a


def test_tiles_fade_in_over_the_tiles_placed_before() -> None:
    tiles = plan_tiles(Extent(256, 200), 128, 32)
    assert [(t.bounds.x, t.bounds.y) for t in tiles] == [
        (0, 0), (64, 0), (128, 0), (0, 72), (64, 72), (128, 72)
    ]  # fmt: skip
    assert [(t.feather_left, t.feather_top) for t in tiles] == [
        (0, 0), (64, 0), (64, 0), (0, 56), (64, 56), (64, 56)
    ]  # fmt: skip


# The graph --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["0.8.0", "0.33.0"])
def test_the_tiled_graph_passes_the_servers_validation(version: str) -> None:
    workflow = build_workflow(upscale_request(100, 80), INFO[version])
    assert validate(workflow.graph, INFO[version], workflow.inputs) is None
    kinds = [n["class_type"] for n in workflow.graph.values()]
    assert kinds.count("LoadImage") == 1 and len(workflow.inputs) == 1  # only the source goes up
    assert sum(k in ("SaveImage", "SaveImageWebsocket") for k in kinds) == 1  # one result
    samplers = [i for i, n in workflow.graph.items() if n["class_type"] == "KSampler"]
    assert workflow.parts == tuple(samplers) and len(samplers) == len(
        plan_tiles(Extent(200, 160), 64, 16)
    )
    assert workflow.extent == Extent(200, 160) and workflow.mode is Mode.upscale


@pytest.mark.parametrize("factor", [1.5, 2.0, 2.5, 3.3, 4.0])
def test_output_has_exactly_the_factors_size(factor: float) -> None:
    request = upscale_request(45, 43, factor=factor, tile_size=64)
    workflow = build_workflow(request, INFO["0.33.0"])
    expected = (round(43 * factor), round(45 * factor))
    assert workflow.extent == Extent(expected[1], expected[0])
    assert run(workflow).shape == (*expected, 3)


@pytest.mark.parametrize("factor", [1.5, 3.0])
def test_upscale_without_refine_is_corrected_to_the_factor(factor: float) -> None:
    request = upscale_request(30, 20, factor=factor, refine=0.0)
    request = replace(request, checkpoint="")
    workflow = build_workflow(request, INFO["0.8.0"])
    assert workflow.parts == ()
    assert run(workflow).shape == (round(20 * factor), round(30 * factor), 3)


def test_tile_seams_match_a_refine_of_the_whole_image() -> None:
    tiled_request = upscale_request(128, 96, tile_size=96, tile_overlap=32)
    tiled = build_workflow(tiled_request, INFO["0.33.0"])
    assert len(tiled.parts) > 4
    # The reference: the plain upscale, then one img2img of the whole image at its own size.
    up = tiled_request.upscale
    assert up is not None
    plain_request = replace(tiled_request, checkpoint="", upscale=replace(up, refine=0.0))
    plain = run(build_workflow(plain_request, INFO["0.33.0"]))
    whole_request = replace(
        tiled_request,
        upscale=None,
        image=Image.from_png(encode_png(plain.astype(np.uint8))),
        strength=up.refine,
        resolution=Resolution(own_size=True),
    )
    assert whole_request.mode is Mode.img2img
    a, b = run(tiled), run(build_workflow(whole_request, INFO["0.33.0"]))
    # The seams: every column and row where two tiles meet, with the feathered band.
    extent = Extent(256, 192)
    seam = np.zeros((extent.height, extent.width), bool)
    for t in plan_tiles(extent, 96, 32):
        x, y = t.bounds.x, t.bounds.y
        if t.feather_left:
            seam[:, x - 2 : x + t.feather_left + 2] = True
        if t.feather_top:
            seam[y - 2 : y + t.feather_top + 2, :] = True
    assert seam.mean() > 0.3
    assert np.abs(a - b)[seam].max() <= 3  # the tiles blend into what one refine would give
    assert np.abs(a - b).max() <= 3  # and so does every other pixel
    assert np.abs(plain - b)[seam].mean() > 20  # and it is a refine, not the plain upscale


def test_a_missing_upscale_model_is_named() -> None:
    request = upscale_request(64, 64, model="4x-UltraSharp.pth")
    with pytest.raises(InvalidRequest) as caught:
        build_workflow(request, INFO["0.33.0"])
    assert "no upscale model named '4x-UltraSharp.pth'" in caught.value.message
    assert UPSCALER in caught.value.message


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (dict(factor=5.0), "×1.5 to ×4"),
        (dict(factor=1.2), "×1.5 to ×4"),
        (dict(refine=0.01), "between 5% and 100%"),
        (dict(refine=1.5), "between 5% and 100%"),
    ],
)
def test_factor_and_strength_out_of_range_are_refused(changes: dict, words: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        build_workflow(upscale_request(64, 64, **changes), INFO["0.33.0"])
    assert words in caught.value.message


def test_a_refine_needs_a_model() -> None:
    request = replace(upscale_request(64, 64), checkpoint="")
    with pytest.raises(InvalidRequest) as caught:
        request.validate()
    assert "needs a model" in caught.value.message


def test_upscale_request_round_trips_through_json() -> None:
    request = upscale_request(32, 32, factor=2.5, refine=0.35, tile_overlap=80)
    again = GenerationRequest.from_json(request.to_json())
    assert again == request and again.mode is Mode.upscale
    assert json.loads(request.to_json())["upscale"]["factor"] == 2.5


@pytest.mark.parametrize("family_model", ["random-sdxl-tiny.safetensors"])
def test_the_families_own_size_sets_the_tiles(family_model: str) -> None:
    request = upscale_request(600, 400, tile_size=None, tile_overlap=64)
    request = replace(request, checkpoint=family_model)
    workflow = build_workflow(request, INFO["0.33.0"])
    crops = [n["inputs"] for n in workflow.graph.values() if n["class_type"] == "ImageCrop"]
    assert {c["width"] for c in crops} == {1024} and {c["height"] for c in crops} == {800}
    assert len(crops) == 2


def test_fake_feather_mask_follows_comfyui() -> None:
    graph = {
        "1": {"class_type": "SolidMask", "inputs": {"value": 1.0, "width": 6, "height": 3}},
        "2": {
            "class_type": "FeatherMask",
            "inputs": {"mask": ["1", 0], "left": 3, "top": 2, "right": 0, "bottom": 0},
        },
    }
    from tests.fakes.executor import Executor

    (mask,) = Executor(graph, lambda name: b"").run("2")
    assert np.allclose(mask[0, 0], [1 / 6, 2 / 6, 3 / 6, 0.5, 0.5, 0.5])
    assert np.allclose(mask[0, 2], [1 / 3, 2 / 3, 1, 1, 1, 1])
