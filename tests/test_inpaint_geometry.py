"""Crop around a selection for inpainting, and the resolution a model samples at."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ai_diffusion.errors import UserError
from ai_diffusion.request import Bounds, Extent, Resolution
from ai_diffusion.workflow import inpaint_region, sampling_extent


def contains(outer: Bounds, inner: Bounds) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.width <= outer.x + outer.width
        and inner.y + inner.height <= outer.y + outer.height
    )


def test_a_512_selection_on_a_huge_canvas_sends_a_small_crop() -> None:
    canvas = Extent(4096, 4096)
    selection = Bounds(1800, 2000, 512, 512)
    region = inpaint_region(canvas, selection)
    assert contains(region, selection)
    assert region.width * region.height < canvas.width * canvas.height / 8
    assert region.width < 1100 and region.height < 1100
    assert region.width % 8 == 0 and region.height % 8 == 0
    # Context on every side, proportional to the selection.
    assert selection.x - region.x >= 128 and region.x + region.width - 2312 >= 128


def test_context_grows_with_the_selection() -> None:
    canvas = Extent(8000, 8000)
    small = inpaint_region(canvas, Bounds(4000, 4000, 100, 100))
    big = inpaint_region(canvas, Bounds(3000, 3000, 1000, 1000))
    assert small.width - 100 < big.width - 1000


def test_a_tiny_selection_gets_at_least_32_px_of_context() -> None:
    region = inpaint_region(Extent(1000, 1000), Bounds(500, 500, 1, 1))
    assert region.x <= 468 and region.x + region.width >= 533
    assert region.width % 8 == 0 and region.height % 8 == 0


@pytest.mark.parametrize(
    "selection",
    [
        Bounds(0, 0, 50, 50),
        Bounds(950, 950, 50, 50),
        Bounds(0, 900, 1000, 100),
        Bounds(-20, -20, 60, 60),
    ],
    ids=["top-left", "bottom-right", "bottom-strip", "sticks-out"],
)
def test_selections_at_the_canvas_edge_are_clamped(selection: Bounds) -> None:
    canvas = Extent(1000, 1000)
    region = inpaint_region(canvas, selection)
    assert region.x >= 0 and region.y >= 0
    assert region.x + region.width <= 1000 and region.y + region.height <= 1000
    clipped = Bounds(max(0, selection.x), max(0, selection.y), 0, 0)
    assert region.x <= clipped.x and region.y <= clipped.y
    assert region.width % 8 == 0 and region.height % 8 == 0


def test_a_selection_of_the_whole_canvas_sends_the_whole_canvas() -> None:
    canvas = Extent(1001, 603)  # not multiples of 8: the canvas wins
    assert inpaint_region(canvas, Bounds(0, 0, 1001, 603)) == Bounds(0, 0, 1001, 603)


def test_explicit_padding() -> None:
    assert inpaint_region(Extent(1000, 1000), Bounds(400, 400, 80, 80), 0) == Bounds(
        400, 400, 80, 80
    )
    assert inpaint_region(Extent(1000, 1000), Bounds(400, 400, 80, 80), 100) == Bounds(
        300, 300, 280, 280
    )


@pytest.mark.parametrize(
    ("selection", "message"),
    [(Bounds(5, 5, 0, 10), "selection is empty"), (Bounds(2000, 5, 10, 10), "outside the image")],
)
def test_impossible_selections_are_painter_errors(selection: Bounds, message: str) -> None:
    with pytest.raises(UserError, match=message):
        inpaint_region(Extent(1000, 1000), selection)


@settings(max_examples=300, deadline=None)
@given(
    cw=st.integers(1, 5000),
    ch=st.integers(1, 5000),
    fx=st.floats(0, 1),
    fy=st.floats(0, 1),
    fw=st.floats(0, 1),
    fh=st.floats(0, 1),
    padding=st.none() | st.integers(0, 600),
)
def test_crop_properties(
    cw: int, ch: int, fx: float, fy: float, fw: float, fh: float, padding: int | None
) -> None:
    x, y = int(fx * (cw - 1)), int(fy * (ch - 1))
    selection = Bounds(x, y, max(1, int(fw * (cw - x))), max(1, int(fh * (ch - y))))
    region = inpaint_region(Extent(cw, ch), selection, padding)
    assert contains(region, selection)
    assert region.x >= 0 and region.y >= 0
    assert region.x + region.width <= cw and region.y + region.height <= ch
    # Multiples of 8 wherever the canvas leaves room.
    assert region.width % 8 == 0 or region.width == cw
    assert region.height % 8 == 0 or region.height == ch


@pytest.mark.parametrize(
    ("target", "native", "expected"),
    [
        (Extent(512, 512), Extent(512, 512), Extent(512, 512)),
        (Extent(2048, 2048), Extent(512, 512), Extent(512, 512)),
        (Extent(1920, 1080), Extent(1024, 1024), Extent(1368, 768)),
        (Extent(64, 64), Extent(1024, 1024), Extent(1024, 1024)),
        (Extent(530, 500), Extent(512, 512), Extent(528, 496)),  # close to native: kept
    ],
)
def test_sampling_extent_examples(target: Extent, native: Extent, expected: Extent) -> None:
    assert sampling_extent(target, native) == expected


@settings(max_examples=300, deadline=None)
@given(
    w=st.integers(8, 16384),
    h=st.integers(8, 16384),
    native=st.sampled_from([Extent(512, 512), Extent(1024, 1024)]),
)
def test_sampling_extent_properties(w: int, h: int, native: Extent) -> None:
    size = sampling_extent(Extent(w, h), native)
    assert size.width % 8 == 0 and size.height % 8 == 0
    assert 64 <= size.width <= 16384 and 64 <= size.height <= 16384
    if 1 / 4 <= w / h <= 4:  # ordinary shapes: native pixel count and the same aspect ratio
        assert 0.7 * native.pixels <= size.pixels <= 1.4 * native.pixels
        assert abs(size.width / size.height - w / h) / (w / h) < 0.1


@pytest.mark.parametrize(
    ("target", "resolution", "expected"),
    [
        (Extent(2048, 2048), Resolution(0.5), Extent(512, 512)),  # a quarter of the pixels
        (Extent(2048, 2048), Resolution(1.5), Extent(1536, 1536)),
        (Extent(1024, 1024), Resolution(1.1), Extent(1128, 1128)),  # not swallowed as "close"
        (Extent(1920, 1080), Resolution(own_size=True), Extent(1920, 1080)),
        (Extent(1922, 1083), Resolution(own_size=True, scale=3.0), Extent(1920, 1080)),
        (Extent(40000, 300), Resolution(own_size=True), Extent(16384, 304)),
    ],
)
def test_the_painters_resolution_scales_or_keeps_the_target(
    target: Extent, resolution: Resolution, expected: Extent
) -> None:
    assert sampling_extent(target, Extent(1024, 1024), 8, resolution) == expected


def test_the_resolution_keeps_the_flow_models_multiple_of_16() -> None:
    size = sampling_extent(Extent(1010, 750), Extent(1024, 1024), 16, Resolution(own_size=True))
    assert size == Extent(1008, 752)
