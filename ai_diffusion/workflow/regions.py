"""Regions: parts of the picture with prompts of their own, with ComfyUI's core nodes.

Each region's prompt (followed by the request's prompt, which describes the whole picture and
its style) is encoded and restricted to the region's mask with ``ConditioningSetMask``; the
request's own prompt is restricted to what no region covers (the masks added with
``MaskComposite``, then inverted). ``ConditioningCombine`` joins them, and the sampler weighs
each prompt per pixel by its mask: this works for every family the builder samples
(the model patches and guidance apply to the combined conditioning as to one prompt). Masks
are given at the image's size; the sampler scales them to the latent.
"""

from __future__ import annotations

from ..request import RegionPrompt
from .graph import Output
from .loras import extract_loras
from .steps import Steps


def region_text(region: RegionPrompt, prompt: str) -> str:
    """A region's text: its own words first, then the whole picture's (LoRA tags in a
    region's prompt are not applied: LoRAs act on the whole model)."""
    own, _ = extract_loras(region.prompt)
    return f"{own}, {prompt}" if prompt else own


def regional_prompt(steps: Steps, clip: Output, prompt: str, whole: Output) -> Output:
    """``whole`` (the encoded ``prompt``) where no region is, each region's prompt in it."""
    regions = steps.r.regions
    if not regions:
        return whole
    combined: Output | None = None
    covered: Output | None = None
    for region in regions:
        mask = steps.load_mask(region.mask)
        encoded = steps.encode_prompt(clip, region_text(region, prompt))
        masked = steps.g.add1(
            "ConditioningSetMask", "CONDITIONING", conditioning=encoded, mask=mask,
            strength=1.0, set_cond_area="default",
        )  # fmt: skip
        combined = masked if combined is None else _combine(steps, combined, masked)
        covered = mask if covered is None else steps.g.add1(
            "MaskComposite", "MASK", destination=covered, source=mask, x=0, y=0, operation="add"
        )  # fmt: skip
    assert combined is not None and covered is not None
    rest = steps.g.add1("InvertMask", "MASK", mask=covered)
    outside = steps.g.add1(
        "ConditioningSetMask", "CONDITIONING", conditioning=whole, mask=rest, strength=1.0,
        set_cond_area="default",
    )  # fmt: skip
    return _combine(steps, outside, combined)


def _combine(steps: Steps, first: Output, second: Output) -> Output:
    return steps.g.add1(
        "ConditioningCombine", "CONDITIONING", conditioning_1=first, conditioning_2=second
    )
