"""Upscale with a refine in tiles: one job upscales the image with an upscale model, scales it
to the exact size, then refines it tile by tile (crop, encode, sample, decode) and blends each
tile onto the growing result with a feathered edge. Core nodes only.

The tiles (:func:`plan_tiles`) cover the image; neighbours share ``overlap`` pixels; edge
tiles are moved inside, never cut. Tiles are composited row by row, left to right: a tile's
left and top edges, where it lies over tiles already placed, fade in over the shared pixels,
so no seam shows where two tiles meet.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..request import Bounds, Extent
from .graph import Output
from .loras import extract_loras
from .steps import Model, Steps


@dataclass(frozen=True)
class Tile:
    bounds: Bounds
    feather_left: int  # pixels fading in from the left edge (shared with the tile on the left)
    feather_top: int  # pixels fading in from the top edge (shared with the tile above)


def spans(length: int, tile: int, overlap: int, multiple: int = 8) -> list[tuple[int, int]]:
    """(start, size) of tiles along one side of ``length`` pixels: each ``tile`` pixels or
    fewer (a multiple of ``multiple``, as the model's latent needs), inside the side, together
    covering it, neighbours sharing about ``overlap`` pixels."""
    size = min(tile, length)
    size = max(multiple, size - size % multiple) if size >= multiple else size
    if size >= length:
        return [(0, length)]
    overlap = min(overlap, size // 2)
    room = length - size
    # Starts fall on the latent's grid (nearest multiple): leave room for that rounding, so
    # neighbours still share at least ``overlap`` pixels.
    step = max(1, size - overlap - multiple)
    count = -(-room // step) + 1
    starts = [
        min(room, round(i * room / (count - 1) / multiple) * multiple) for i in range(count - 1)
    ]
    return [(start, size) for start in sorted({*starts, room})]


def plan_tiles(extent: Extent, tile: int, overlap: int, multiple: int = 8) -> list[Tile]:
    """The tiles of an image of ``extent``, row by row, and how much of each tile's left and
    top edge fades in over the tiles placed before it."""
    columns = spans(extent.width, tile, overlap, multiple)
    rows = spans(extent.height, tile, overlap, multiple)
    tiles = []
    for j, (y, height) in enumerate(rows):
        top = rows[j - 1][0] + rows[j - 1][1] - y if j else 0
        for i, (x, width) in enumerate(columns):
            left = columns[i - 1][0] + columns[i - 1][1] - x if i else 0
            tiles.append(Tile(Bounds(x, y, width, height), left, top))
    return tiles


class TiledRefine:
    """The refine's graph, built with the builder's own steps (``Steps``): the same model
    loading, prompts and sampling as img2img for the family."""

    def __init__(self, steps: Steps) -> None:
        self.s = steps

    def tile_size(self) -> int:
        up = self.s.r.upscale
        assert up is not None
        if up.tile_size is not None:
            return up.tile_size
        native = self.s.family.native
        return max(native.width, native.height)

    def refine(self, image: Output, extent: Extent) -> tuple[Output, list[str]]:
        """``image`` (of ``extent``) refined tile by tile; the sampler nodes, in tile order."""
        s, r = self.s, self.s.r
        up = r.upscale
        assert up is not None
        m = s.load_model()
        m, prompt = s.apply_loras(m, r.prompt)
        negative_text, _ = extract_loras(r.negative_prompt)
        raw = s.encode_prompt(m.clip, prompt)
        negative = s.negative_for(m.clip, raw, negative_text)
        positive = s.guide(raw)
        tiles = plan_tiles(extent, self.tile_size(), up.tile_overlap, s.family.latent_multiple)
        samplers = []
        canvas = image
        for tile in tiles:
            refined, sampler = self.refine_tile(image, tile, m, positive, negative)
            samplers.append(sampler)
            canvas = self.composite(canvas, refined, tile)
        return canvas, samplers

    def refine_tile(
        self, image: Output, tile: Tile, m: Model, positive: Output, negative: Output
    ) -> tuple[Output, str]:
        s, b = self.s, tile.bounds
        crop = s.g.add1(
            "ImageCrop", "IMAGE", image=image, width=b.width, height=b.height, x=b.x, y=b.y
        )
        latent = s.g.add1("VAEEncode", "LATENT", pixels=crop, vae=m.vae)
        assert s.r.upscale is not None
        sampled = s.sample(m, positive, negative, latent, s.r.upscale.refine, b.extent)
        decoded = s.g.add1("VAEDecode", "IMAGE", samples=sampled, vae=m.vae)
        return decoded, sampled.node

    def composite(self, canvas: Output, tile_image: Output, tile: Tile) -> Output:
        s, b = self.s, tile.bounds
        mask = None
        if tile.feather_left or tile.feather_top:
            solid = s.g.add1("SolidMask", "MASK", value=1.0, width=b.width, height=b.height)
            mask = s.g.add1(
                "FeatherMask", "MASK", mask=solid, left=tile.feather_left, top=tile.feather_top,
                right=0, bottom=0,
            )  # fmt: skip
        extra = {"mask": mask} if mask is not None else {}
        return s.g.add1(
            "ImageCompositeMasked", "IMAGE", destination=canvas, source=tile_image, x=b.x,
            y=b.y, resize_source=False, **extra,
        )  # fmt: skip
