"""The workflow builder, mode by mode: golden graphs plus checks of what each mode must do.

Golden graphs live in tests/golden/workflow_<mode>.json. After an intended change to the
builder, regenerate them with

    AID_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_workflow_build.py

and review the diff before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    LoraRef,
    Mode,
    Preprocess,
    Sampling,
    UpscaleRef,
)
from ai_diffusion.workflow import build_workflow, default_sampling, validate_graph
from ai_diffusion.workflow.families import family_of
from tests.comfy_fixtures import CHECKPOINT, object_info
from tests.fakes.executor import encode_png

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("AID_UPDATE_GOLDEN") == "1"
INFO = object_info()


def picture(width: int = 320, height: int = 256, seed: int = 1) -> Image:
    rng = np.random.default_rng(seed)
    return Image.from_png(encode_png(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)))


def mask(width: int = 320, height: int = 256) -> Image:
    pixels = np.zeros((height, width), np.uint8)
    pixels[height // 4 : height // 2, width // 4 : width // 2] = 255
    return Image.from_png(encode_png(pixels))


BASE = GenerationRequest(
    checkpoint=CHECKPOINT,
    prompt="a red fox in snow",
    negative_prompt="blurry",
    sampling=Sampling("euler", "normal", 4, 7.0, 42, 1),
    extent=Extent(512, 512),
)
CONTROL = ControlLayer("random-sd15-controlnet.safetensors", picture(seed=3), 0.8, 0.1, 0.9)

REQUESTS: dict[str, GenerationRequest] = {
    "txt2img": BASE,
    "txt2img_scaled": BASE.__class__(**{**BASE.__dict__, "extent": Extent(1024, 768)}),
    "img2img": BASE.__class__(**{**BASE.__dict__, "image": picture(), "strength": 0.6}),
    "inpaint_fill": BASE.__class__(**{**BASE.__dict__, "image": picture(), "mask": mask()}),
    "inpaint_refine": BASE.__class__(
        **{**BASE.__dict__, "image": picture(), "mask": mask(), "strength": 0.5}
    ),
    "inpaint_batch": BASE.__class__(
        **{
            **BASE.__dict__,
            "image": picture(),
            "mask": mask(),
            "sampling": Sampling(seed=42, steps=4, batch_size=3),
        }
    ),
    "lora": BASE.__class__(
        **{
            **BASE.__dict__,
            "prompt": "fox <lora:random-sd15-tiny-lora:0.5>",
            "loras": (LoraRef("random-sd15-lora", 0.8),),
        }
    ),
    "controlnet_canny": BASE.__class__(
        **{
            **BASE.__dict__,
            "controls": (
                CONTROL,
                ControlLayer(
                    "random-sd15-tiny-controlnet.safetensors",
                    picture(seed=4),
                    preprocess=Preprocess.canny,
                ),
            ),
        }
    ),
    "upscale_after_txt2img": BASE.__class__(
        **{
            **BASE.__dict__,
            "upscale": UpscaleRef("random-compact-4x.safetensors", Extent(1000, 1000)),
        }
    ),
    "upscale_only": GenerationRequest(
        image=picture(64, 48), upscale=UpscaleRef("random-compact-4x.safetensors")
    ),
    "batch": BASE.__class__(**{**BASE.__dict__, "sampling": Sampling(seed=42, batch_size=4)}),
}


def nodes(graph: dict[str, Any], class_type: str) -> list[dict[str, Any]]:
    return [n for n in graph.values() if n["class_type"] == class_type]


def id_of(graph: dict[str, Any], class_type: str) -> str:
    (node_id,) = [i for i, n in graph.items() if n["class_type"] == class_type]
    return node_id


def one(graph: dict[str, Any], class_type: str) -> dict[str, Any]:
    (node,) = nodes(graph, class_type)
    return node


@pytest.mark.parametrize("mode", sorted(REQUESTS))
def test_golden_graph(mode: str) -> None:
    workflow = build_workflow(REQUESTS[mode], INFO)
    validate_graph(workflow.graph, INFO, uploaded=workflow.inputs)
    # Upload names are content hashes of PNGs, which depend on the encoder's version: the
    # golden files name them by order of appearance.
    text = json.dumps(workflow.graph, indent=1, sort_keys=True)
    for i, name in enumerate(workflow.inputs, 1):
        assert name in text
        text = text.replace(name, f"<input {i}>")
    graph = json.loads(text)
    text += "\n"
    path = GOLDEN / f"workflow_{mode}.json"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"{path.name} is missing; run with AID_UPDATE_GOLDEN=1 to write it")
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text)
    assert json.loads(path.read_text()) == graph, (
        f"the graph for {mode} changed; if intended, regenerate with AID_UPDATE_GOLDEN=1"
    )


def test_every_graph_saves_through_one_output_node() -> None:
    for request in REQUESTS.values():
        workflow = build_workflow(request, INFO)
        save = workflow.graph[workflow.output_node]
        assert save["class_type"] == "SaveImage"
        assert save["inputs"]["filename_prefix"] == "ai_diffusion"
        assert len(nodes(workflow.graph, "SaveImage")) == 1


def test_txt2img_samples_at_native_size_and_scales_to_the_target() -> None:
    workflow = build_workflow(REQUESTS["txt2img_scaled"], INFO)
    latent = one(workflow.graph, "EmptyLatentImage")["inputs"]
    assert (latent["width"], latent["height"]) == (592, 440)  # 4:3, about 512² pixels
    scale = one(workflow.graph, "ImageScale")["inputs"]
    assert (scale["width"], scale["height"]) == (1024, 768)
    assert workflow.extent == Extent(1024, 768) and workflow.mode is Mode.txt2img
    assert workflow.inputs == {}


def test_txt2img_at_native_size_has_no_scaling() -> None:
    workflow = build_workflow(BASE, INFO)
    assert nodes(workflow.graph, "ImageScale") == []
    assert one(workflow.graph, "KSampler")["inputs"]["denoise"] == 1.0


def test_sdxl_checkpoints_sample_at_1024() -> None:
    request = BASE.__class__(**{**BASE.__dict__, "checkpoint": "juggernautXL_v9.safetensors"})
    workflow = build_workflow(request)  # no server: names are not checked
    latent = one(workflow.graph, "EmptyLatentImage")["inputs"]
    assert (latent["width"], latent["height"]) == (1024, 1024)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("random-sd15-tiny.safetensors", "sd15"),
        ("sd_xl_base_1.0.safetensors", "sdxl"),
        ("ponyDiffusionV6.safetensors", "sdxl-pony"),
        ("flux1-dev-fp8.safetensors", "flux-dev"),
        ("dreamshaper_8.safetensors", "sd15"),
    ],
)
def test_family_detection_from_the_name(name: str, family: str) -> None:
    assert family_of(name).id == family


def test_an_explicit_family_wins_and_an_unknown_one_is_explained() -> None:
    assert family_of("random-sd15-tiny.safetensors", "SDXL").native == Extent(1024, 1024)
    with pytest.raises(
        UserError, match=r"Unknown model family 'sd9'. Known: flux2-klein-9b-base, .*, sd15\."
    ):
        family_of("x", "sd9")


def test_img2img_encodes_the_input_and_denoises_by_strength() -> None:
    workflow = build_workflow(REQUESTS["img2img"], INFO)
    g = workflow.graph
    assert one(g, "KSampler")["inputs"]["denoise"] == 0.6
    encode = one(g, "VAEEncode")["inputs"]
    assert g[encode["pixels"][0]]["class_type"] == "ImageScale"  # 320×256 → sampling size
    (name,) = workflow.inputs
    assert name.startswith("aid-") and name.endswith(".png") and len(name) == 28
    assert one(g, "LoadImage")["inputs"]["image"] == name
    assert workflow.inputs[name] == REQUESTS["img2img"].image.data  # type: ignore[union-attr]
    assert workflow.extent == Extent(320, 256)


def test_identical_images_upload_once() -> None:
    image = picture()
    request = BASE.__class__(
        **{
            **BASE.__dict__,
            "image": image,
            "strength": 0.5,
            "controls": (ControlLayer("random-sd15-controlnet.safetensors", image),),
        }
    )
    workflow = build_workflow(request, INFO)
    assert len(workflow.inputs) == 1
    assert len(nodes(workflow.graph, "LoadImage")) == 1  # de-duplicated node


def test_inpaint_fill_graph() -> None:
    workflow = build_workflow(REQUESTS["inpaint_fill"], INFO)
    g = workflow.graph
    assert one(g, "LoadImageMask")["inputs"]["channel"] == "red"
    assert one(g, "GrowMask")["inputs"]["expand"] > 0
    assert one(g, "ImageBlur")["inputs"]["blur_radius"] > 1
    assert one(g, "VAEEncodeForInpaint") and nodes(g, "SetLatentNoiseMask") == []
    assert one(g, "KSampler")["inputs"]["denoise"] == 1.0
    # The result is the generated image with the soft mask as alpha (JoinImageWithAlpha stores
    # 1 - mask: it gets the inverted soft mask), blended with the original only once, by
    # whoever pastes it: no composite inside the graph.
    assert nodes(g, "ImageCompositeMasked") == []
    join = one(g, "JoinImageWithAlpha")["inputs"]
    invert = g[join["alpha"][0]]
    assert invert["class_type"] == "InvertMask"
    assert g[invert["inputs"]["mask"][0]]["inputs"]["image"][0] == id_of(g, "ImageBlur")
    scaled = g[join["image"][0]]  # the decoded image, scaled back from the sampling size
    assert scaled["class_type"] == "ImageScale"
    assert g[scaled["inputs"]["image"][0]]["class_type"] == "VAEDecode"
    assert len(workflow.inputs) == 2 and workflow.extent == Extent(320, 256)


def test_inpaint_refine_uses_a_latent_noise_mask() -> None:
    g = build_workflow(REQUESTS["inpaint_refine"], INFO).graph
    assert one(g, "SetLatentNoiseMask") and nodes(g, "VAEEncodeForInpaint") == []
    assert one(g, "KSampler")["inputs"]["denoise"] == 0.5


def test_batch_returns_every_image() -> None:
    g = build_workflow(REQUESTS["batch"], INFO).graph
    assert one(g, "EmptyLatentImage")["inputs"]["batch_size"] == 4
    g = build_workflow(REQUESTS["inpaint_batch"], INFO).graph
    assert one(g, "RepeatLatentBatch")["inputs"]["amount"] == 3
    # The alpha join gets the whole batch of alphas (it keeps the smaller batch).
    (repeat,) = nodes(g, "RepeatImageBatch")
    assert repeat["inputs"]["amount"] == 3


def test_controlnets_chain_with_their_ranges() -> None:
    g = build_workflow(REQUESTS["controlnet_canny"], INFO).graph
    applied = nodes(g, "ControlNetApplyAdvanced")
    assert [(a["inputs"]["strength"], a["inputs"]["start_percent"], a["inputs"]["end_percent"])
            for a in applied] == [(0.8, 0.1, 0.9), (1.0, 0.0, 1.0)]  # fmt: skip
    second = applied[1]["inputs"]
    assert g[second["image"][0]]["class_type"] == "Canny"
    first_id = next(k for k, n in g.items() if n is applied[0])
    assert second["positive"] == [first_id, 0] and second["negative"] == [first_id, 1]
    sampler = one(g, "KSampler")["inputs"]
    second_id = next(k for k, n in g.items() if n is applied[1])
    assert sampler["positive"] == [second_id, 0]


def test_upscale_graphs() -> None:
    g = build_workflow(REQUESTS["upscale_only"], INFO).graph
    assert {n["class_type"] for n in g.values()} == {
        "LoadImage", "UpscaleModelLoader", "ImageUpscaleWithModel", "SaveImage",
    }  # fmt: skip
    workflow = build_workflow(REQUESTS["upscale_after_txt2img"], INFO)
    assert workflow.extent == Extent(1000, 1000)
    save = workflow.graph[workflow.output_node]["inputs"]["images"]
    assert workflow.graph[save[0]]["class_type"] == "ImageScale"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"checkpoint": "missing.safetensors"},
            "no model (checkpoint or diffusion model) named 'missing.safetensors'",
        ),
        ({"vae": "nope.vae"}, "no VAE named 'nope.vae'. Available: pixel_space"),
        ({"sampling": Sampling(sampler="magic")}, "no sampler named 'magic'"),
        ({"sampling": Sampling(scheduler="weird")}, "no scheduler named 'weird'"),
        ({"upscale": UpscaleRef("x4.pth")}, "no upscale model named 'x4.pth'"),
        ({"controls": (ControlLayer("cn.pth", picture()),)}, "no ControlNet model named 'cn.pth'"),
    ],
)
def test_names_the_server_lacks_are_explained(changes: dict, message: str) -> None:
    request = BASE.__class__(**{**BASE.__dict__, **changes})
    with pytest.raises(UserError) as error:
        build_workflow(request, INFO)
    assert message in error.value.message
    assert "models folder and Refresh" in error.value.message


def test_without_object_info_names_are_taken_as_given() -> None:
    request = BASE.__class__(**{**BASE.__dict__, "checkpoint": "anything.safetensors"})
    g = build_workflow(request).graph
    assert one(g, "CheckpointLoaderSimple")["inputs"]["ckpt_name"] == "anything.safetensors"


def test_sampling_defaults_come_from_the_family_and_the_server() -> None:
    sd15 = default_sampling(CHECKPOINT, INFO)
    assert (sd15.sampler, sd15.scheduler, sd15.cfg) == ("euler", "normal", 7.0)
    xl = default_sampling("sd_xl_base_1.0.safetensors", INFO)
    assert (xl.sampler, xl.scheduler, xl.steps) == ("dpmpp_2m", "karras", 25)
    # A server without the family's sampler: its first one instead.
    info = json.loads(json.dumps(INFO))
    info["KSampler"]["input"]["required"]["sampler_name"][0] = ["ddim", "euler"]
    assert default_sampling("x", info, family="sdxl").sampler == "ddim"
    assert default_sampling("x", None, family="flux").scheduler == "simple"


@pytest.mark.parametrize(
    ("width", "height", "radius"),
    [(64, 64, 15), (16, 12, 11), (12, 16, 11), (40, 2, 1), (1, 1, None)],
)
def test_the_feather_fits_the_image(width: int, height: int, radius: int | None) -> None:
    """ImageBlur needs a radius below each side (torch's reflect padding)."""
    picture = Image.from_png(encode_png(np.zeros((height, width, 3), np.uint8)))
    mask = Image.from_png(encode_png(np.full((height, width), 255, np.uint8)))
    g = build_workflow(
        BASE.__class__(**{**BASE.__dict__, "image": picture, "mask": mask}), INFO
    ).graph
    blurs = nodes(g, "ImageBlur")
    assert [b["inputs"]["blur_radius"] for b in blurs] == ([radius] if radius else [])


def test_a_streamed_request_sends_its_result_over_the_websocket() -> None:
    request = GenerationRequest(CHECKPOINT, "a barn", streamed=True)
    workflow = build_workflow(request, INFO)
    assert workflow.streamed
    assert workflow.graph[workflow.output_node]["class_type"] == "SaveImageWebsocket"
    validate_graph(workflow.graph, INFO)
    # A server without the websocket saver (or unknown nodes) saves as usual.
    for info in ({k: v for k, v in INFO.items() if k != "SaveImageWebsocket"}, None):
        saved = build_workflow(request, info)
        assert not saved.streamed
        assert saved.graph[saved.output_node]["class_type"] == "SaveImage"
    assert not build_workflow(GenerationRequest(CHECKPOINT, "a barn"), INFO).streamed
