"""The request contract: PNG size without Pillow, JSON round trip, painter-facing validation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_diffusion.errors import UserError
from ai_diffusion.request import (
    Bounds,
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    InvalidRequest,
    LoraRef,
    Mode,
    ModelKind,
    Preprocess,
    RegionPrompt,
    Resolution,
    Sampling,
    UpscaleRef,
    png_size,
)
from tests.fakes.executor import encode_png


def png(width: int, height: int, channels: int = 3, value: int = 128) -> Image:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return Image.from_png(encode_png(np.full(shape, value, np.uint8)))


@pytest.mark.parametrize("size", [(1, 1), (320, 256), (7, 4099)])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_png_size_is_read_from_the_header(size: tuple[int, int], channels: int) -> None:
    image = png(*size, channels=channels)
    assert (image.width, image.height) == size
    assert png_size(image.data) == Extent(*size)


@pytest.mark.parametrize("data", [b"", b"GIF89a" + bytes(40), b"\x89PNG\r\n\x1a\n" + bytes(8)])
def test_a_file_that_is_not_png_is_a_painter_error(data: bytes) -> None:
    with pytest.raises(UserError, match="not a PNG"):
        Image.from_png(data)


def full_request() -> GenerationRequest:
    return GenerationRequest(
        checkpoint="random-sd15-tiny.safetensors",
        vae="pixel_space",
        family="sd15",
        prompt="a fox, «quoted» ünïcode",
        negative_prompt="blurry",
        loras=[LoraRef("random-sd15-lora", 0.75)],  # a list is accepted and stored as a tuple
        sampling=Sampling("dpmpp_2m", "karras", 12, 4.5, 2**63 + 5, 2),
        extent=Extent(320, 256),
        image=png(320, 256),
        strength=0.35,
        mask=png(320, 256, channels=1, value=255),
        controls=[
            ControlLayer("random-sd15-controlnet.safetensors", png(64, 64), 0.8, 0.1, 0.9),
            ControlLayer("c2", png(8, 8, 4), 1.0, 0.0, 1.0, Preprocess.canny),
        ],
        upscale=None,
        region=Bounds(12, 34, 320, 256),
        resolution=Resolution(1.5),
        streamed=True,
    )


def test_json_round_trip_is_exact() -> None:
    request = full_request()
    text = request.to_json()
    back = GenerationRequest.from_json(text)
    assert back == request
    assert back.image is not None and back.image.data == request.image.data  # type: ignore[union-attr]
    assert isinstance(back.loras, tuple) and isinstance(back.controls, tuple)
    assert back.controls[1].preprocess is Preprocess.canny
    assert back.to_json() == text
    json.loads(text)  # plain JSON, images as base64 strings


def test_json_round_trip_of_a_split_model_edit_request() -> None:
    request = GenerationRequest(
        checkpoint="qwen_image_edit_2509_fp8_e4m3fn.safetensors",
        kind="split",  # type: ignore[arg-type]  # a string is accepted and stored as the enum
        text_encoders=["qwen_2.5_vl_7b_fp8_scaled.safetensors"],  # type: ignore[arg-type]
        vae="qwen_image_vae.safetensors",
        family="qwen-image-edit-2509",
        guidance=2.5,
        prompt="make the sky stormy",
        image=png(64, 48),
        mask=png(64, 48, channels=1, value=255),
        edit=True,
        references=[png(32, 32), png(16, 24, 4)],  # type: ignore[arg-type]
    )
    text = request.to_json()
    back = GenerationRequest.from_json(text)
    assert back == request and back.to_json() == text
    assert back.kind is ModelKind.split and back.mode is Mode.edit
    assert [r.extent for r in back.references] == [Extent(32, 32), Extent(16, 24)]
    assert json.loads(text)["kind"] == "split" and json.loads(text)["edit"] is True


def test_every_field_survives_the_round_trip() -> None:
    """A field added to the request but not to the JSON decoding is caught: these requests
    together set every field to something other than its default."""
    default = GenerationRequest()
    split = GenerationRequest(
        kind=ModelKind.split, text_encoders=("t",), guidance=2.5, family="f",
        regions=(RegionPrompt("a barn", png(8, 8)),),
    )  # fmt: skip
    edit = GenerationRequest(edit=True, references=(png(8, 8),), upscale=UpscaleRef("u"))
    requests = (full_request(), split, edit)
    for request in requests:
        assert GenerationRequest.from_json(request.to_json()) == request
    unset = {
        f.name
        for f in dataclasses.fields(GenerationRequest)
        if all(getattr(r, f.name) == getattr(default, f.name) for r in requests)
    }
    assert unset == set()


def test_edit_needs_an_image_and_references_need_edit() -> None:
    with pytest.raises(UserError, match="Edit mode needs the image"):
        GenerationRequest(checkpoint="m", edit=True).validate()
    with pytest.raises(UserError, match="only used in Edit mode"):
        GenerationRequest(checkpoint="m", image=png(8, 8), references=(png(8, 8),)).validate()
    with pytest.raises(UserError, match="Guidance must be between 0 and 100"):
        GenerationRequest(checkpoint="m", guidance=-1).validate()


def test_a_request_file_from_before_the_resolution_choice_samples_at_the_familys_size() -> None:
    data = json.loads(GenerationRequest(checkpoint="m", resolution=Resolution(0.5)).to_json())
    assert data["resolution"] == {"scale": 0.5, "own_size": False}
    del data["resolution"]
    assert GenerationRequest.from_json(json.dumps(data)).resolution == Resolution()


def test_json_round_trip_of_an_upscale_request() -> None:
    request = GenerationRequest(
        image=png(16, 16), upscale=UpscaleRef("random-compact-4x.safetensors", Extent(50, 40))
    )
    assert GenerationRequest.from_json(request.to_json()) == request
    assert request.mode is Mode.upscale


@settings(max_examples=60, deadline=None)
@given(
    prompt=st.text(max_size=40),
    seed=st.integers(0, 2**64 - 1),
    cfg=st.floats(0, 100, allow_nan=False),
    strength=st.floats(0.01, 1.0),
    loras=st.lists(st.tuples(st.text(min_size=1, max_size=10), st.floats(-100, 100)), max_size=3),
)
def test_json_round_trip_property(
    prompt: str, seed: int, cfg: float, strength: float, loras: list[tuple[str, float]]
) -> None:
    request = GenerationRequest(
        checkpoint="m.safetensors",
        prompt=prompt,
        sampling=Sampling(seed=seed, cfg=cfg),
        strength=strength,
        image=png(8, 8) if strength < 1 else None,
        loras=tuple(LoraRef(n, s) for n, s in loras),
    )
    assert GenerationRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"extent": {"width": 1}}', '{"extent": {"width": 8, "height": 8}}'],
)
def test_a_broken_request_file_is_a_painter_error(text: str) -> None:
    with pytest.raises(InvalidRequest) as error:
        GenerationRequest.from_json(text)
    assert "request file" in error.value.message


def test_modes_follow_from_the_inputs() -> None:
    base = GenerationRequest(checkpoint="m")
    assert base.mode is Mode.txt2img
    assert GenerationRequest(checkpoint="m", image=png(8, 8), strength=0.5).mode is Mode.img2img
    inpaint = GenerationRequest(checkpoint="m", image=png(8, 8), mask=png(8, 8, 1))
    assert inpaint.mode is Mode.inpaint


BAD = [
    (dict(checkpoint=""), "Choose a model"),
    (dict(sampling=Sampling(steps=0)), "Steps must be at least 1"),
    (dict(sampling=Sampling(steps=10001)), "Steps must be at most"),
    (dict(sampling=Sampling(batch_size=0)), "Batch size"),
    (dict(sampling=Sampling(batch_size=65)), "Batch size"),
    (dict(sampling=Sampling(cfg=-1)), "Guidance"),
    (dict(sampling=Sampling(seed=-1)), "seed"),
    (dict(sampling=Sampling(seed=2**64)), "seed"),
    (dict(strength=0.0), "Strength"),
    (dict(strength=1.5), "Strength"),
    (dict(strength=-0.2), "Strength"),
    (dict(extent=Extent(4, 512)), "too small"),
    (dict(extent=Extent(512, 20000)), "too large"),
    (dict(mask=png(8, 8, 1)), "needs the image"),
    (dict(image=png(16, 16), mask=png(8, 8, 1)), "same size"),
    (dict(controls=[ControlLayer("c", png(8, 8), 1.0, 0.8, 0.2)]), "start must be before end"),
    (dict(controls=[ControlLayer("c", png(8, 8), 11.0)]), "strength must be between 0 and 10"),
    (dict(loras=[LoraRef("l", 500)]), "LoRA 'l'"),
    (dict(resolution=Resolution(0.1)), "resolution scale must be between 25% and 400%"),
    (dict(resolution=Resolution(5.0)), "resolution scale must be between 25% and 400%"),
    (
        dict(image=png(8, 8), mask=png(8, 8, 1), upscale=UpscaleRef("u")),
        "inpaint first, then upscale",
    ),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_values_are_refused_in_plain_words(changes: dict, message: str) -> None:
    request = GenerationRequest(**{"checkpoint": "m.safetensors", **changes})
    with pytest.raises(InvalidRequest) as error:
        request.validate()
    assert message in error.value.message
    assert isinstance(error.value, UserError)


def test_a_good_request_passes_validation() -> None:
    full_request().validate()
    GenerationRequest(image=png(8, 8), upscale=UpscaleRef("u")).validate()  # upscale only
