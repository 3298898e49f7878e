"""The shared CLI options: from arguments and image files to a request (crop, mask, controls)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from ai_diffusion.cli.request_args import add_request_options, crop_for_inpaint, request_from_args
from ai_diffusion.errors import UserError
from ai_diffusion.request import (
    Bounds,
    ControlLayer,
    GenerationRequest,
    Image,
    Mode,
    Resolution,
)
from tests.fakes.executor import decode_png, encode_png


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_request_options(parser)
    return parser.parse_args(list(argv))


def write(path: Path, pixels: np.ndarray) -> str:
    path.write_bytes(encode_png(pixels))
    return str(path)


def picture(width: int = 400, height: int = 300) -> np.ndarray:
    return np.random.default_rng(2).integers(0, 255, (height, width, 3), dtype=np.uint8)


def test_white_mask_means_inpaint_the_crop_around_it(tmp_path: Path) -> None:
    mask = np.zeros((300, 400), np.uint8)
    mask[100:140, 200:260] = 255
    args = parse(
        "--checkpoint", "m", "--image", write(tmp_path / "p.png", picture()),
        "--mask", write(tmp_path / "m.png", mask),
    )  # fmt: skip
    cli = request_from_args(args)
    r = cli.request
    assert r.mode is Mode.inpaint and r.strength == 1.0
    assert cli.region == r.region and cli.region is not None
    region = cli.region
    assert region.x <= 200 and region.x + region.width >= 260
    assert r.image is not None and r.image.extent == region.extent == r.extent
    sent = decode_png(r.image.data)
    x, y = region.x, region.y
    assert np.array_equal(sent, picture()[y : y + region.height, x : x + region.width])


def test_rgba_mask_transparent_means_repaint(tmp_path: Path) -> None:
    rgba = np.zeros((300, 400, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[10:30, 10:50, 3] = 0
    args = parse(
        "--checkpoint", "m", "--image", write(tmp_path / "p.png", picture()),
        "--mask", write(tmp_path / "a.png", rgba),
    )  # fmt: skip
    r = request_from_args(args).request
    assert r.region is not None and r.region.x == 0 and r.region.y == 0
    assert r.mask is not None
    mask = decode_png(r.mask.data)
    assert mask[10:30, 10:50].min() == 255 and mask[40:, :].max() == 0 and mask[:, 60:].max() == 0


def test_image_alone_refines(tmp_path: Path) -> None:
    r = request_from_args(
        parse("--checkpoint", "m", "--image", write(tmp_path / "p.png", picture()))
    ).request
    assert r.mode is Mode.img2img and r.strength == 0.6


def test_controls_of_the_picture_size_are_cropped_with_it() -> None:
    full = Image.from_png(encode_png(picture()))
    small = Image.from_png(encode_png(picture(32, 32)))
    mask = np.zeros((300, 400), np.uint8)
    mask[150:160, 150:160] = 255
    request = GenerationRequest(
        checkpoint="m",
        image=full,
        mask=Image.from_png(encode_png(mask)),
        controls=(ControlLayer("a", full), ControlLayer("b", small)),
    )
    cropped, region = crop_for_inpaint(request)
    assert cropped.controls[0].image.extent == region.extent
    assert cropped.controls[1].image == small
    assert region == Bounds(118, 118, 80, 80)  # 10 px + 32 px context each side, 8-aligned


def test_empty_or_mismatched_masks_are_explained() -> None:
    image = Image.from_png(encode_png(picture()))
    empty = Image.from_png(encode_png(np.zeros((300, 400), np.uint8)))
    with pytest.raises(UserError, match="mask is empty"):
        crop_for_inpaint(GenerationRequest(checkpoint="m", image=image, mask=empty))
    other = Image.from_png(encode_png(np.zeros((30, 40), np.uint8)))
    with pytest.raises(UserError, match="same size"):
        crop_for_inpaint(GenerationRequest(checkpoint="m", image=image, mask=other))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mask", "m.png"], "--mask needs --image"),
        (["--image", "/no/such.png"], "Check the path"),
        (["--control", "cn"], "should be MODEL:IMAGE"),
        (["--control", "cn:x.png:strong"], "must be numbers"),
        (["--resolution", "big"], "give auto, own, or a percentage"),
    ],
)
def test_bad_options_are_explained(argv: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        request_from_args(parse("--checkpoint", "m", *argv))


@pytest.mark.parametrize(
    ("value", "resolution"),
    [
        ("auto", Resolution()),
        ("own", Resolution(own_size=True)),
        ("150%", Resolution(1.5)),
        ("50", Resolution(0.5)),
    ],
)
def test_resolution_option(value: str, resolution: Resolution) -> None:
    args = parse("--checkpoint", "sd_xl_base_1.0.safetensors", "--resolution", value)
    assert request_from_args(args).request.resolution == resolution
    assert request_from_args(parse("--checkpoint", "m")).request.resolution == Resolution()
