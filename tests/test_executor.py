"""Graphs from the builder, run through the fake executor: what a painter would see."""

from __future__ import annotations

import numpy as np
import pytest

from ai_diffusion.cli.request_args import crop_for_inpaint, paste_result
from ai_diffusion.request import (
    Bounds,
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    LoraRef,
    Sampling,
    UpscaleRef,
)
from ai_diffusion.workflow import Workflow, build_workflow
from tests.comfy_fixtures import CHECKPOINT, object_info
from tests.fakes.executor import ExecutionError, Executor, decode_png, encode_png, execute

INFO = object_info()


def run(workflow: Workflow) -> list[np.ndarray]:
    outputs = execute(workflow.graph, lambda name: workflow.inputs[name])
    return [decode_png(data) for data in outputs[workflow.output_node]]


def noise_picture(width: int, height: int) -> np.ndarray:
    return np.random.default_rng(5).integers(0, 255, (height, width, 3), dtype=np.uint8)


def request(**changes: object) -> GenerationRequest:
    base = dict(
        checkpoint=CHECKPOINT,
        prompt="a fox",
        sampling=Sampling(steps=2, seed=3),
        extent=Extent(96, 64),
    )
    return GenerationRequest(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_inpaint_pasted_back_changes_only_the_masked_area(batch: int) -> None:
    width, height = 800, 600
    original = noise_picture(width, height)
    mask = np.zeros((height, width), np.uint8)
    mask[300:360, 500:580] = 255  # the painter's selection
    full = request(
        image=Image.from_png(encode_png(original)),
        mask=Image.from_png(encode_png(mask)),
        sampling=Sampling(steps=2, seed=3, batch_size=batch),
    )
    cropped, region = crop_for_inpaint(full)
    assert region.width < width and region.height < height  # only the context crop travels
    assert cropped.region == region and cropped.image.extent == region.extent  # type: ignore[union-attr]

    results = run(build_workflow(cropped, INFO))
    assert len(results) == batch
    original_png = encode_png(original)
    for result in results:
        assert result.shape == (region.height, region.width, 4)  # RGBA of the crop
        pasted = decode_png(paste_result(original_png, encode_png(result), region))
        assert pasted.shape == original.shape
        changed = np.any(pasted != original, axis=-1)
        # Inside the selection everything changed...
        assert changed[300:360, 500:580].all()
        # ...outside the grown + feathered mask nothing did, to the last bit.
        near = np.zeros_like(changed)
        near[300 - 40 : 360 + 40, 500 - 40 : 580 + 40] = True
        assert not changed[~near].any()
        assert result[..., 3].min() == 0 and result[..., 3].max() == 255


@pytest.mark.parametrize("strength", [1.0, 0.6])
def test_the_feather_band_is_blended_exactly_once(strength: float) -> None:
    """Pasted back, the result is generated·m + original·(1−m) with m the soft mask, at 25, 50
    and 75 % across the feather band (blending twice gives m² there)."""
    size = 512  # the sampling size of the test model: generated pixels need no scaling
    original = np.zeros((size, size, 3), np.uint8)
    original[:, ::2] = 255  # black and white columns: a visible step whatever is generated
    mask = np.zeros((size, size), np.uint8)
    mask[192:320, 192:320] = 255
    workflow = build_workflow(
        request(
            image=Image.from_png(encode_png(original)),
            mask=Image.from_png(encode_png(mask)),
            strength=strength,
            extent=Extent(size, size),
        ),
        INFO,
    )
    executor = Executor(workflow.graph, lambda name: workflow.inputs[name])
    executor.run(workflow.output_node)
    (result_png,) = executor.outputs[workflow.output_node]
    g = workflow.graph
    blur = next(i for i, n in g.items() if n["class_type"] == "ImageBlur")
    soft_id = next(i for i, n in g.items() if n["inputs"].get("image") == [blur, 0])
    decode = next(i for i, n in g.items() if n["class_type"] == "VAEDecode")
    m = executor.run(soft_id)[0][0]
    generated = executor.run(decode)[0][0]
    assert generated.shape[:2] == (size, size)

    pasted = (
        decode_png(paste_result(encode_png(original), result_png, Bounds(0, 0, size, size))).astype(
            np.float32
        )
        / 255
    )
    o = original.astype(np.float32) / 255
    row = 256
    band = [x for x in range(0, 256) if 0 < m[row, x] < 1]  # outside → inside, left edge
    assert len(band) > 8
    for share in (0.25, 0.5, 0.75):
        near = band[round(share * (len(band) - 1))]
        x = max((near, near + 1), key=lambda x: np.abs(generated[row, x] - o[row, x]).max())
        weight = m[row, x]
        assert 0.03 < weight < 0.97
        expected = generated[row, x] * weight + o[row, x] * (1 - weight)
        channel = int(np.argmax(np.abs(generated[row, x] - o[row, x])))
        assert abs(generated[row, x, channel] - o[row, x, channel]) > 0.25  # a visible step
        assert abs(pasted[row, x, channel] - expected[channel]) <= 3 / 255, (share, weight)
    # Far outside the band the original is untouched; deep inside it is the generated image.
    assert np.array_equal(pasted[row, : band[0]], o[row, : band[0]])
    inside = generated[row, 256] * 255
    assert np.allclose(pasted[row, 256] * 255, inside, atol=1.5)


def test_inpaint_of_a_tiny_image_works() -> None:
    """ImageBlur fails on an image smaller than its radius (torch's reflect padding)."""
    for width, height in ((10, 10), (2, 40), (40, 2), (1, 1)):
        picture = Image.from_png(encode_png(noise_picture(width, height)))
        mask = Image.from_png(encode_png(np.full((height, width), 255, np.uint8)))
        (result,) = run(build_workflow(request(image=picture, mask=mask), INFO))
        assert result.shape == (height, width, 4)


def test_paste_result_scales_a_result_of_another_size_and_keeps_the_mode() -> None:
    original = np.zeros((20, 30, 4), np.uint8)
    original[..., 3] = 255
    result = np.zeros((5, 5, 4), np.uint8)
    result[...] = (255, 255, 255, 255)  # opaque white, a quarter of the region's size
    pasted = decode_png(
        paste_result(encode_png(original), encode_png(result), Bounds(10, 0, 10, 10))
    )
    assert pasted.shape == (20, 30, 4)  # RGBA stays RGBA
    assert (pasted[:10, 10:20, :3] == 255).all()  # the whole region, not just 5×5 of it
    assert (pasted[10:, :, :3] == 0).all() and (pasted[:, :10, :3] == 0).all()


def test_the_fake_blur_fails_like_torch_on_small_images() -> None:
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "p.png"}},
        "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 15, "sigma": 5.0}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}},
    }  # fmt: skip
    picture = encode_png(noise_picture(15, 40))
    with pytest.raises(ExecutionError, match="Padding size should be less"):
        execute(graph, lambda name: picture)
    picture = encode_png(noise_picture(16, 40))
    assert len(execute(graph, lambda name: picture)["3"]) == 1


def test_inpaint_refine_keeps_some_of_the_original() -> None:
    picture = noise_picture(64, 64)
    mask = np.full((64, 64), 255, np.uint8)

    def go(strength: float) -> np.ndarray:
        r = request(
            image=Image.from_png(encode_png(picture)),
            mask=Image.from_png(encode_png(mask)),
            strength=strength,
        )
        return run(build_workflow(r, INFO))[0][..., :3].astype(float)

    def distance(a: np.ndarray) -> float:
        return float(np.abs(a - picture).mean())

    assert distance(go(0.2)) < distance(go(0.9))


def test_txt2img_has_the_target_size_and_follows_seed_and_prompt() -> None:
    (a,) = run(build_workflow(request(), INFO))
    assert a.shape == (64, 96, 3)
    (same,) = run(build_workflow(request(), INFO))
    (other_seed,) = run(build_workflow(request(sampling=Sampling(steps=2, seed=4)), INFO))
    (other_prompt,) = run(build_workflow(request(prompt="a cat"), INFO))
    assert np.array_equal(a, same)
    assert not np.array_equal(a, other_seed) and not np.array_equal(a, other_prompt)


def test_batch_gives_different_images() -> None:
    images = run(build_workflow(request(sampling=Sampling(steps=2, seed=3, batch_size=3)), INFO))
    assert len(images) == 3
    assert not np.array_equal(images[0], images[1])


def test_lora_and_controlnet_visibly_change_the_result() -> None:
    (plain,) = run(build_workflow(request(), INFO))
    (lora,) = run(build_workflow(request(loras=(LoraRef("random-sd15-lora", 1.0),)), INFO))
    control = ControlLayer(
        "random-sd15-controlnet.safetensors", Image.from_png(encode_png(noise_picture(32, 32)))
    )
    (controlled,) = run(build_workflow(request(controls=(control,)), INFO))
    assert not np.array_equal(plain, lora)
    assert not np.array_equal(plain, controlled)


def test_img2img_result_has_the_input_size() -> None:
    picture = Image.from_png(encode_png(noise_picture(100, 70)))
    (result,) = run(build_workflow(request(image=picture, strength=0.5), INFO))
    assert result.shape == (70, 100, 3)


def test_upscale_only() -> None:
    picture = Image.from_png(encode_png(noise_picture(20, 10)))
    r = GenerationRequest(image=picture, upscale=UpscaleRef("random-compact-4x.safetensors"))
    (result,) = run(build_workflow(r, INFO))
    assert result.shape == (40, 80, 3)
    sized = GenerationRequest(
        image=picture, upscale=UpscaleRef("random-compact-4x.safetensors", Extent(50, 30))
    )
    (result,) = run(build_workflow(sized, INFO))
    assert result.shape == (30, 50, 3)


def test_unknown_nodes_are_a_clear_error() -> None:
    graph = {"1": {"class_type": "FancyCustomNode", "inputs": {}}, "2": {
        "class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}  # fmt: skip
    with pytest.raises(ExecutionError) as error:
        execute(graph, lambda name: b"")
    assert error.value.node_id == "1" and error.value.node_type == "FancyCustomNode"
    assert "FancyCustomNode is not supported" in str(error.value)


def test_alpha_join_keeps_the_smaller_batch_like_comfyui() -> None:
    """The reason the builder repeats the alpha for batches (see ComfyUI 0.8.0)."""
    picture = encode_png(noise_picture(16, 16))
    graph = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "p.png"}},
        "2": {"class_type": "RepeatImageBatch", "inputs": {"image": ["1", 0], "amount": 3}},
        "3": {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["2", 0], "alpha": ["1", 1]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}},
    }
    assert len(execute(graph, lambda name: picture)["4"]) == 1
