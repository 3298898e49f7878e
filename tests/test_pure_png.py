"""The pure-Python PNG codec and feathered alpha used for WebUI inpaint results inside Krita
(no numpy/Pillow there): Pillow-made PNGs decode to Pillow's own pixels, and a result carrying
the feathered alpha changes nothing outside the feather when pasted."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ai_diffusion.backends import feather, png


def _pillow_png(array: np.ndarray, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG", **save)
    return buffer.getvalue()


def _noise(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.indices(shape[:2]).sum(0).astype(np.uint8)
    noise = rng.integers(0, 40, shape).astype(np.uint8)
    return (ramp[..., None] if len(shape) == 3 else ramp) + noise


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_decodes_what_pillow_writes(channels: int) -> None:
    # Pillow picks a filter per row (None/Sub/Up/Average/Paeth) on such content.
    array = _noise((37, 53, channels) if channels > 1 else (37, 53))
    if channels == 2:
        pil = Image.fromarray(array[..., 0]).convert("LA")
        pil.putalpha(Image.fromarray(array[..., 1]))
        array = np.asarray(pil)
        data = io.BytesIO()
        pil.save(data, "PNG")
        encoded = data.getvalue()
    else:
        encoded = _pillow_png(array)
    decoded = png.decode(encoded)
    assert (decoded.width, decoded.height, decoded.channels) == (53, 37, channels)
    assert decoded.data == array.tobytes()


def test_decodes_palette_and_16_bit() -> None:
    array = _noise((20, 30, 3))
    pil = Image.fromarray(array).quantize(16)
    buffer = io.BytesIO()
    pil.save(buffer, "PNG")
    decoded = png.decode(buffer.getvalue())
    assert decoded.data == np.asarray(pil.convert("RGB")).tobytes()
    wide = (np.arange(600, dtype=np.uint16).reshape(20, 30) * 100).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, "PNG")
    decoded = png.decode(buffer.getvalue())
    assert decoded.data == (wide >> 8).astype(np.uint8).tobytes()


def test_encoded_png_reads_back_in_pillow() -> None:
    array = _noise((16, 24, 4))
    encoded = png.encode(png.Pixels(24, 16, 4, array.tobytes()))
    assert (np.asarray(Image.open(io.BytesIO(encoded))) == array).all()


def test_damaged_png_is_a_painter_message() -> None:
    data = _pillow_png(_noise((8, 8, 3)))
    with pytest.raises(png.PngError, match="could not be read"):
        png.decode(data[:40] + b"garbage" + data[47:])


def test_feather_is_zero_beyond_its_reach_and_full_inside() -> None:
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 50:100] = 255
    soft = np.frombuffer(feather.soft_mask(mask.tobytes(), 160, 120), np.uint8).reshape(120, 160)
    reach = feather.FEATHER_REACH
    ys, xs = np.nonzero(soft)
    assert ys.min() >= 40 - reach and ys.max() < 80 + reach
    assert xs.min() >= 50 - reach and xs.max() < 100 + reach
    assert (soft[40:80, 50:100] == 255).all()  # the selection itself is repainted fully
    assert 0 < soft[40 - 10, 75] < 255  # a soft edge, not a step
    assert soft[40 - 14, 75] < soft[40 - 10, 75] < soft[40 - 6, 75]


def test_feather_keeps_a_mask_at_the_border_full() -> None:
    mask = np.zeros((40, 40), np.uint8)
    mask[:, :10] = 255  # touches the crop's left edge (the canvas border)
    soft = np.frombuffer(feather.soft_mask(mask.tobytes(), 40, 40), np.uint8).reshape(40, 40)
    assert (soft[:, :10] == 255).all()


def test_result_with_alpha_pastes_without_touching_anything_outside() -> None:
    original = _noise((64, 96, 3), seed=1)
    generated = _noise((64, 96, 3), seed=2)
    mask = np.zeros((64, 96), np.uint8)
    mask[20:40, 30:60] = 255
    soft = feather.soft_mask(mask.tobytes(), 96, 64)
    rgba = feather.with_alpha(_pillow_png(generated), soft, 96, 64)
    result = Image.open(io.BytesIO(rgba))
    assert result.mode == "RGBA"
    canvas = Image.fromarray(original).convert("RGBA")
    canvas.alpha_composite(result)
    pasted = np.asarray(canvas.convert("RGB"))
    alpha = np.frombuffer(soft, np.uint8).reshape(64, 96)
    outside = alpha == 0
    assert outside.sum() > 2000
    assert (pasted[outside] == original[outside]).all()
    assert (pasted[20:40, 30:60] == generated[20:40, 30:60]).all()


def test_alpha_follows_a_result_of_another_size() -> None:
    mask = np.zeros((32, 32), np.uint8)
    mask[:, 16:] = 255
    rgba = feather.with_alpha(_pillow_png(_noise((64, 64, 3))), mask.tobytes(), 32, 32)
    alpha = np.asarray(Image.open(io.BytesIO(rgba)))[..., 3]
    assert alpha.shape == (64, 64)
    assert (alpha[:, :32] == 0).all() and (alpha[:, 32:] == 255).all()


def test_decodes_one_bit_gray() -> None:
    pil = Image.fromarray((_noise((9, 13)) > 120).astype(np.uint8) * 255).convert("1")
    buffer = io.BytesIO()
    pil.save(buffer, "PNG")
    assert png.decode(buffer.getvalue()).data == np.asarray(pil.convert("L")).tobytes()


def _filtered_png(array: np.ndarray, kind: int) -> bytes:
    """An RGB PNG whose every row uses filter ``kind`` (encoders rarely pick Average)."""
    import struct
    import zlib

    h, w, c = array.shape
    x = array.astype(np.int32).reshape(h, w * c)
    up = np.vstack([np.zeros((1, w * c), np.int32), x[:-1]])
    left = np.hstack([np.zeros((h, c), np.int32), x[:, :-c]])
    corner = np.hstack([np.zeros((h, c), np.int32), up[:, :-c]])
    if kind == 3:
        predicted = (left + up) // 2
    else:
        p = left + up - corner
        pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
        predicted = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, corner))
    rows = ((x - predicted) % 256).astype(np.uint8)
    raw = b"".join(bytes([kind]) + row.tobytes() for row in rows)

    def chunk(name: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + name + body + struct.pack(">I", zlib.crc32(name + body))
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        png.SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )  # fmt: skip


@pytest.mark.parametrize("kind", [3, 4])
def test_decodes_average_and_paeth_rows(kind: int) -> None:
    array = _noise((11, 17, 3), seed=kind)
    assert png.decode(_filtered_png(array, kind)).data == array.tobytes()


def test_results_are_scaled_to_an_exact_size_like_a_smooth_resize() -> None:
    import io

    import numpy as np
    from PIL import Image as PILImage

    from ai_diffusion.backends.png_scale import scale_png

    rng = np.random.default_rng(0)
    picture = (rng.random((52, 78, 3)) * 255).astype("uint8")
    buffer = io.BytesIO()
    PILImage.fromarray(picture).save(buffer, "PNG")
    for width, height in ((12, 8), (160, 100), (78, 30), (13, 52)):
        scaled = np.asarray(PILImage.open(io.BytesIO(scale_png(buffer.getvalue(), width, height))))
        assert scaled.shape == (height, width, 3)
        smooth = PILImage.fromarray(picture).resize((width, height), PILImage.Resampling.BILINEAR)
        assert np.abs(scaled.astype(float) - np.asarray(smooth)).mean() < 2.5, (width, height)
    flat = io.BytesIO()
    PILImage.new("RGBA", (64, 40), (40, 120, 200, 128)).save(flat, "PNG")
    out = np.asarray(PILImage.open(io.BytesIO(scale_png(flat.getvalue(), 7, 5))))
    assert (out == (40, 120, 200, 128)).all()
    assert scale_png(flat.getvalue(), 64, 40) == flat.getvalue()
