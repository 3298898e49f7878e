"""The container that keeps a document's results inside the document (``results_store``)."""

from __future__ import annotations

import io
import json
import logging
import zipfile

import pytest
from PIL import Image as PILImage

from ai_diffusion.request import Bounds, Image
from ai_diffusion.state import results_store
from ai_diffusion.state.results_store import KeptResult, decode, encode


def png(width: int, height: int, colour=(10, 200, 30, 255), noise: int = 0) -> Image:
    image = PILImage.new("RGBA", (width, height), colour)
    if noise:  # incompressible pixels: a PNG of about width * height * 4 bytes
        image = PILImage.frombytes("RGBA", (width, height), bytes(_random(width * height * 4)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return Image.from_png(buffer.getvalue())


def _random(n: int) -> bytes:
    import random

    return random.Random(n).randbytes(n)


def result(i: int, image: Image | None = None) -> KeptResult:
    return KeptResult(
        image or png(32, 24, (i, 2 * i, 3 * i, 255)),
        Bounds(i, 2 * i, 32, 24),
        f"[AI] a fox ({i})",
        f"a fox, ünïcode {i}",
        1000 + i,
        "Cinematic" if i % 2 else "",
        updates_layer=i == 3,  # a workflow result that updates its layer
    )


def test_round_trip_keeps_every_field_and_the_exact_png_bytes() -> None:
    results = [result(i) for i in range(5)]
    assert decode(encode(results)) == results


def test_results_without_a_style_field_are_kept_with_an_empty_style() -> None:
    class Plain:  # the controller's Result before styles existed
        def __init__(self, kept: KeptResult) -> None:
            self.image, self.bounds, self.name = kept.image, kept.bounds, kept.name
            self.prompt, self.seed = kept.prompt, kept.seed

    back = decode(encode([Plain(result(1))]))
    assert back == [KeptResult(**{**result(1).__dict__, "style": "", "updates_layer": False})]


def test_the_newest_results_are_kept_within_the_byte_bound() -> None:
    big = [result(i, png(64, 64, noise=1)) for i in range(6)]  # ~16 KB each
    size = len(big[0].image.data)
    back = decode(encode(big, max_bytes=3 * size + 10))
    assert [r.seed for r in back] == [1003, 1004, 1005]  # the three newest, oldest first


def test_at_most_max_count_results_are_kept() -> None:
    back = decode(encode([result(i) for i in range(10)], max_count=4))
    assert [r.seed for r in back] == [1006, 1007, 1008, 1009]


def test_one_image_larger_than_the_bound_is_left_out_and_the_older_ones_stay() -> None:
    small = [result(i) for i in range(3)]
    huge = result(9, png(128, 128, noise=1))
    limit = len(huge.image.data) - 1
    back = decode(encode([*small, huge], max_bytes=limit))
    assert [r.seed for r in back] == [1000, 1001, 1002]


def test_the_default_bound_is_32_mb_and_64_results() -> None:
    assert results_store.MAX_BYTES == 32 * 1024 * 1024 and results_store.MAX_COUNT == 64


def _rezip(data: bytes, change) -> bytes:
    """The container with its header changed by ``change`` (a function of the dict)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            content = source.read(name)
            if name == results_store.HEADER:
                content = json.dumps(change(json.loads(content))).encode()
            archive.writestr(name, content)
    return out.getvalue()


def _set(key, value):
    def change(header):
        header[key] = value
        return header

    return change


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: b"",
        lambda d: b"not a zip at all",
        lambda d: d[: len(d) // 2],  # cut short
        lambda d: d.replace(b"results.json", b"something.js"),  # no header
        lambda d: _rezip(d, _set("version", 2)),  # saved by a newer plugin
        lambda d: _rezip(d, _set("format", "other")),
        lambda d: _rezip(d, _set("results", {"not": "a list"})),
        lambda d: _rezip(d, lambda h: [1, 2, 3]),
    ],
    ids=["empty", "garbage", "truncated", "no-header", "newer", "other-format", "bad-list", "list"],
)
def test_damaged_or_unknown_data_gives_no_results_and_a_log_line(damage, caplog) -> None:
    data = damage(encode([result(1), result(2)]))
    with caplog.at_level(logging.WARNING, logger=results_store.__name__):
        assert decode(data) == []
    assert data == b"" or "kept results skipped" in caplog.text


def test_a_damaged_entry_is_skipped_and_the_others_come_back(caplog) -> None:
    def break_entries(header):
        header["results"][0]["file"] = "missing.png"
        header["results"][1]["bounds"] = [0, 0, "wide"]
        header["results"][2]["seed"] = "not a number"
        return header

    results = [result(i) for i in range(5)]
    data = _rezip(encode(results), break_entries)
    with caplog.at_level(logging.WARNING, logger=results_store.__name__):
        assert decode(data) == results[3:]
    assert caplog.text.count("kept result ") == 3


def test_an_entry_whose_file_is_not_a_png_is_skipped() -> None:
    data = encode([result(1), result(2)])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in source.namelist():
            archive.writestr(name, b"GIF89a..." if name == "0.png" else source.read(name))
    assert decode(out.getvalue()) == [result(2)]
