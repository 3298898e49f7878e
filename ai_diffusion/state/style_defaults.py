"""The styles that ship with the plugin: a few looks per model family, each naming the
family's usual model file (a server with another file of that family gets that one instead,
see ``state/style_choice.py``). Unset sampling values are the family's defaults
(``workflow/family_table.py``). They cannot be changed or deleted, only copied."""

from __future__ import annotations

from .styles import Style, StyleModel, StyleSampling

SD15_NEGATIVE = "photo, blurry, lowres, deformed, bad anatomy, watermark, signature, text"
SDXL_NEGATIVE = "photo, blurry, lowres, jpeg artifacts, deformed, watermark, signature, text"
ANIME_NEGATIVE = (
    "lowres, worst quality, bad quality, bad anatomy, bad hands, jpeg artifacts, signature, "
    "watermark, text"
)

SHIPPED: tuple[Style, ...] = (
    Style(
        "SD1.5 painterly",
        StyleModel("v1-5-pruned-emaonly.safetensors"),
        template="{prompt}, oil painting, painterly, visible brush strokes, rich colours",
        negative=SD15_NEGATIVE,
        sampling=StyleSampling(steps=30, sampler="dpmpp_2m", scheduler="karras"),
    ),
    Style(
        "SDXL illustration",
        StyleModel("sd_xl_base_1.0.safetensors"),
        template="{prompt}, digital illustration, clean line art, vibrant colours, detailed",
        negative=SDXL_NEGATIVE,
    ),
    Style(
        "Illustrious anime",
        StyleModel("Illustrious-XL-v2.0.safetensors"),
        template="{prompt}, anime style, masterpiece, best quality, very aesthetic, absurdres",
        negative=ANIME_NEGATIVE,
    ),
    Style(
        "Flux photo",
        StyleModel("flux1-dev.safetensors"),
        template="{prompt}, photograph, natural light, 35mm, shallow depth of field, fine detail",
        sampling=StyleSampling(steps=25),
    ),
    Style(
        "Z-Image concept art",
        StyleModel("z_image_turbo_bf16.safetensors"),
        template="{prompt}, concept art, painterly, dramatic lighting, atmospheric",
    ),
)
