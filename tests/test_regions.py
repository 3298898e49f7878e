"""Regions: parts of the picture with prompts of their own (``workflow/regions.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from ai_diffusion.request import (
    Extent,
    GenerationRequest,
    InvalidRequest,
    RegionPrompt,
    Sampling,
)
from ai_diffusion.workflow import build_workflow
from tests.comfy_fixtures import CHECKPOINT, object_info
from tests.fakes.comfy_validation import validate
from tests.fakes.executor import decode_png, execute
from tests.widgets.fake_document import to_png

INFO = object_info()
W, H = 128, 64


def mask(x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[:, x0:x1] = 255
    return m


def request(regions=(), **changes) -> GenerationRequest:
    base = dict(
        checkpoint=CHECKPOINT,
        prompt="a landscape",
        sampling=Sampling(steps=2, seed=3),
        extent=Extent(W, H),
        regions=tuple(regions),
    )
    return GenerationRequest(**{**base, **changes})


def run(r: GenerationRequest) -> np.ndarray:
    workflow = build_workflow(r, INFO)
    outputs = execute(workflow.graph, workflow.inputs.__getitem__)
    return decode_png(outputs[workflow.output_node][0]).astype(int)


def test_two_regions_change_their_own_areas_and_leave_the_rest_to_the_prompt() -> None:
    barn = RegionPrompt("a red barn", to_png(mask(0, 40)))
    sky = RegionPrompt("a stormy sky <lora:sky:0.5>", to_png(mask(88, 128)))
    picture = run(request([barn, sky]))
    # Each region looks as its own prompt (followed by the whole picture's) would look...
    alone_barn = run(request(prompt="a red barn, a landscape"))
    alone_sky = run(request(prompt="a stormy sky, a landscape"))
    plain = run(request())
    inner = slice(8, H - 8)
    assert np.abs(picture[inner, 8:32] - alone_barn[inner, 8:32]).max() <= 2
    assert np.abs(picture[inner, 96:120] - alone_sky[inner, 96:120]).max() <= 2
    # ...and between them the picture is the prompt's alone.
    assert np.abs(picture[inner, 52:76] - plain[inner, 52:76]).max() <= 2
    # The two regions differ from each other and from the rest.
    assert np.abs(alone_barn - plain).max() > 10 and np.abs(alone_sky - alone_barn).max() > 10


def test_regions_graph_uses_core_nodes_the_servers_accept() -> None:
    regions = [RegionPrompt("a", to_png(mask(0, 64))), RegionPrompt("b", to_png(mask(64, 128)))]
    workflow = build_workflow(request(regions), INFO)
    types = [node["class_type"] for node in workflow.graph.values()]
    assert types.count("ConditioningSetMask") == 3  # two regions and the rest
    assert types.count("ConditioningCombine") == 2
    assert "MaskComposite" in types and "InvertMask" in types
    assert validate(workflow.graph, INFO, workflow.inputs) is None


def test_a_request_without_regions_has_the_graph_it_always_had() -> None:
    types = {node["class_type"] for node in build_workflow(request(), INFO).graph.values()}
    assert not types & {"ConditioningSetMask", "ConditioningCombine", "MaskComposite"}


def test_regions_work_with_inpaint_and_img2img() -> None:
    image = to_png(np.full((H, W, 4), 128, np.uint8))
    region = RegionPrompt("a cat", to_png(mask(0, 64)))
    for changes in (dict(image=image, strength=0.6), dict(image=image, mask=to_png(mask(0, 128)))):
        picture = run(request([region], **changes))
        assert picture.shape[:2] == (H, W)
        assert np.abs(picture[8:56, 8:56] - picture[8:56, 72:120]).max() > 10


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(regions=[RegionPrompt(" ", to_png(mask(0, 8)))]), "Region 1 has no prompt"),
        (dict(regions=[RegionPrompt("a", to_png(np.zeros((8, 8), np.uint8)))]), "8×8"),
        (
            dict(
                regions=[RegionPrompt("a", to_png(mask(0, 8)))],
                edit=True,
                image=to_png(np.zeros((H, W, 4), np.uint8)),
            ),
            "not used in Edit mode",
        ),
        (dict(regions=[RegionPrompt("a", to_png(mask(0, 8)))] * 17), "At most 16"),
    ],
)
def test_bad_regions_are_refused_in_words(changes, words) -> None:
    with pytest.raises(InvalidRequest, match=words):
        request(**changes).validate()


def test_regions_survive_the_json_round_trip() -> None:
    r = request([RegionPrompt("a red barn", to_png(mask(0, 40)))])
    assert GenerationRequest.from_json(r.to_json()) == r


def _save_mask(path, array: np.ndarray) -> str:
    from PIL import Image as PILImage

    PILImage.fromarray(array, "L").save(path)
    return str(path)


def test_the_cli_takes_regions_and_they_change_their_areas(fake_server: str, tmp_path) -> None:
    from PIL import Image as PILImage

    from tests.test_cli_generate import BASE, cli

    size = ["--width", str(W), "--height", str(H)]
    left = _save_mask(tmp_path / "left.png", mask(0, 48))
    plain = cli("generate", "--server", fake_server, *BASE, *size, "--out", str(tmp_path / "a"))
    regional = cli(
        "generate", "--server", fake_server, *BASE, *size, "--region", left, "a red barn",
        "--out", str(tmp_path / "b"),
    )  # fmt: skip
    assert plain.returncode == 0 and regional.returncode == 0, regional.stderr
    a = np.asarray(PILImage.open(plain.stdout.strip()).convert("RGB")).astype(int)
    b = np.asarray(PILImage.open(regional.stdout.strip()).convert("RGB")).astype(int)
    assert np.abs(a[8:56, 8:40] - b[8:56, 8:40]).max() > 10  # the region changed
    assert np.abs(a[8:56, 72:120] - b[8:56, 72:120]).max() <= 2  # the rest did not


def test_the_cli_says_which_region_mask_has_the_wrong_size(fake_server: str, tmp_path) -> None:
    from tests.test_cli_generate import BASE, cli

    small = _save_mask(tmp_path / "small.png", np.zeros((8, 8), np.uint8))
    result = cli(
        "generate", "--server", fake_server, *BASE, "--width", str(W), "--height", str(H),
        "--region", small, "a cat", "--out", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 1 and "--region" in result.stderr and "8×8" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_inpaint_keeps_only_the_regions_that_reach_the_selection() -> None:
    from ai_diffusion.cli.request_args import crop_for_inpaint

    picture = to_png(np.full((256, 256, 4), 90, np.uint8))
    selection = np.zeros((256, 256), np.uint8)
    selection[8:40, 8:40] = 255
    near = np.zeros((256, 256), np.uint8)
    near[0:24, 0:24] = 255
    far = np.zeros((256, 256), np.uint8)
    far[220:256, 220:256] = 255
    r = GenerationRequest(
        checkpoint=CHECKPOINT, prompt="x", image=picture, mask=to_png(selection),
        regions=(RegionPrompt("near", to_png(near)), RegionPrompt("far", to_png(far))),
    )  # fmt: skip
    cropped, region = crop_for_inpaint(r)
    assert [x.prompt for x in cropped.regions] == ["near"]
    assert cropped.regions[0].mask.extent == region.extent
    cropped.validate()
