"""The model families the plugin knows, as data.

Facts (loaders, text-encoder types, latent nodes, model-sampling patches, sampling defaults,
native resolutions) follow ComfyUI's own example workflows and templates for each family,
checked against the node list of ComfyUI 0.8.0. The order matters: detection takes the first
family whose pattern matches the file name, so specific names come before general ones.
"""

from __future__ import annotations

from ..request import Extent, ModelKind
from .families import Edit, Family, Piece

# Text encoders (models/text_encoders; older servers: models/clip) ------------------------
CLIP_L = Piece(
    "CLIP-L text encoder", (r"clip[_-]?l\b", r"clip_l", r"^clip-vit-l"), "clip_l.safetensors"
)
CLIP_G = Piece("CLIP-G text encoder", (r"clip[_-]?g\b", r"clip_g"), "clip_g.safetensors")
T5XXL = Piece(
    "T5-XXL text encoder",
    (r"t5[_-]?xxl", r"t5[_-]?v1[_.]1[_-]?xxl", r"flan[_-]?t5[_-]?xxl"),
    "t5xxl_fp16.safetensors",
)
QWEN_VL = Piece(
    "Qwen2.5-VL 7B text encoder",
    (r"qwen[_-]?2\.?5[_-]?vl",),
    "qwen_2.5_vl_7b_fp8_scaled.safetensors",
)
QWEN3_4B = Piece("Qwen3 4B text encoder", (r"qwen[_-]?3[_-]?4b",), "qwen_3_4b.safetensors")
MISTRAL = Piece(
    "Mistral 3 Small text encoder",
    (r"mistral[_-]?3[_-]?small",),
    "mistral_3_small_flux2_fp8.safetensors",
)

# VAEs (models/vae) -------------------------------------------------------------------------
SD15_VAE = Piece(
    "SD1.5 VAE",
    (r"vae[_-]?ft[_-]?(mse|ema)", r"sd15.*vae", r"sd-vae"),
    "vae-ft-mse-840000-ema-pruned.safetensors",
    "vae",
)
SDXL_VAE = Piece("SDXL VAE", (r"sdxl.*vae", r"xl[_-]?vae"), "sdxl_vae.safetensors", "vae")
FLUX_VAE = Piece(
    "Flux VAE (ae)",
    (r"^ae\.", r"^ae[_-]", r"flux1?[_-]?vae", r"flux[_-]?ae"),
    "ae.safetensors",
    "vae",
)
FLUX2_VAE = Piece("Flux.2 VAE", (r"flux[_-]?2.*vae",), "flux2-vae.safetensors", "vae")
QWEN_VAE = Piece("Qwen-Image VAE", (r"qwen[_-]?image.*vae",), "qwen_image_vae.safetensors", "vae")

MEGAPIXEL = Extent(1024, 1024)

SD15 = Family(
    "sd15", "Stable Diffusion 1.5", (), Extent(512, 512),
    sampler="euler", scheduler="normal", steps=20, cfg=7.0,
    kinds=(ModelKind.checkpoint, ModelKind.split),
    text_encoders=(CLIP_L,), clip_type="stable_diffusion", vae=SD15_VAE,
    lora_clip=True, controlnet=True,
)  # fmt: skip
SDXL = Family(
    "sdxl", "SDXL", (r"sdxl", r"xl[_\-.]", r"[_\-]xl\b", r"xl\d", r"juggernaut"), MEGAPIXEL,
    sampler="dpmpp_2m", scheduler="karras", steps=25, cfg=6.0,
    kinds=(ModelKind.checkpoint, ModelKind.split),
    text_encoders=(CLIP_L, CLIP_G), clip_type="sdxl", vae=SDXL_VAE,
    lora_clip=True, controlnet=True,
)  # fmt: skip
SDXL_PONY = Family(
    "sdxl-pony", "SDXL · Pony", (r"pony", r"pdxl"), MEGAPIXEL,
    sampler="euler_ancestral", scheduler="normal", steps=25, cfg=7.0,
    kinds=SDXL.kinds, text_encoders=SDXL.text_encoders, clip_type="sdxl", vae=SDXL_VAE,
    lora_clip=True, controlnet=True,
)  # fmt: skip
SDXL_ILLUSTRIOUS = Family(
    "sdxl-illustrious", "SDXL · Illustrious", (r"illustrious", r"\bilxl", r"^il[_-]?xl"),
    MEGAPIXEL, sampler="euler_ancestral", scheduler="normal", steps=28, cfg=6.0,
    kinds=SDXL.kinds, text_encoders=SDXL.text_encoders, clip_type="sdxl", vae=SDXL_VAE,
    lora_clip=True, controlnet=True,
)  # fmt: skip
SDXL_NOOBAI = Family(
    "sdxl-noobai", "SDXL · NoobAI", (r"noob",), MEGAPIXEL,
    sampler="euler_ancestral", scheduler="normal", steps=28, cfg=5.0,
    kinds=SDXL.kinds, text_encoders=SDXL.text_encoders, clip_type="sdxl", vae=SDXL_VAE,
    lora_clip=True, controlnet=True,
)  # fmt: skip

_SD3 = dict(
    sampler="euler",
    scheduler="sgm_uniform",
    latent="EmptySD3LatentImage",
    latent_multiple=16,
    model_sampling=("ModelSamplingSD3", 3.0),
    text_encoders=(CLIP_L, CLIP_G, T5XXL),
    checkpoint_has_text_encoders=False,
    bundled=(r"fp8_scaled", r"incl", r"clips"),
    inpaint_conditioning=True,
)
SD35_LARGE = Family(
    "sd35-large", "SD 3.5 Large", (r"sd3\.?5[_-]?large", r"sd3\.?5l\b"), MEGAPIXEL,
    steps=30, cfg=4.5, **_SD3,  # type: ignore[arg-type]
)  # fmt: skip
SD35_MEDIUM = Family(
    "sd35-medium", "SD 3.5 Medium", (r"sd3\.?5[_-]?medium", r"sd3\.?5m\b"), MEGAPIXEL,
    steps=40, cfg=4.5, **_SD3,  # type: ignore[arg-type]
)  # fmt: skip
SD3 = Family(
    "sd3", "Stable Diffusion 3", (r"sd3", r"sd_3", r"stable[_-]?diffusion[_-]?3"), MEGAPIXEL,
    steps=28, cfg=4.5, **_SD3,  # type: ignore[arg-type]
)  # fmt: skip

_FLUX = dict(
    sampler="euler",
    scheduler="simple",
    cfg=1.0,
    negative=False,
    kinds=(ModelKind.split, ModelKind.checkpoint),
    text_encoders=(CLIP_L, T5XXL),
    clip_type="flux",
    vae=FLUX_VAE,
    latent="EmptySD3LatentImage",
    latent_multiple=16,
    inpaint_conditioning=True,
)
FLUX2_KLEIN = Family(
    "flux2-klein", "Flux.2 Klein", (r"flux[_.-]?2[_.-]?klein",), MEGAPIXEL,
    kinds=(ModelKind.split,),
    unsupported=(
        "Flux.2 Klein cannot be used yet: ComfyUI 0.8.0 cannot load it (its text encoder and "
        "model layout are newer). Choose another model, or update ComfyUI on the server once a "
        "release supports Klein and update this plugin."
    ),
)  # fmt: skip
FLUX2_DEV = Family(
    "flux2-dev", "Flux.2 dev", (r"flux[_.-]?2",), MEGAPIXEL,
    sampler="euler", scheduler="simple", steps=20, cfg=1.0, guidance=4.0, negative=False,
    kinds=(ModelKind.split,), text_encoders=(MISTRAL,), clip_type="flux2", vae=FLUX2_VAE,
    latent="EmptyFlux2LatentImage", latent_multiple=16, sigmas="Flux2Scheduler",
    inpaint_conditioning=True,
)  # fmt: skip
FLUX_KONTEXT = Family(
    "flux-kontext", "Flux.1 Kontext dev", (r"kontext",), MEGAPIXEL,
    steps=20, guidance=2.5, edit=Edit.kontext, max_references=2,
    **_FLUX,  # type: ignore[arg-type]
)  # fmt: skip
FLUX_SCHNELL = Family(
    "flux-schnell", "Flux.1 schnell", (r"flux.*schnell", r"schnell"), MEGAPIXEL,
    steps=4, controlnet=True, **_FLUX,  # type: ignore[arg-type]
)  # fmt: skip
FLUX_DEV = Family(
    "flux-dev", "Flux.1 dev", (r"flux",), MEGAPIXEL,
    steps=20, guidance=3.5, controlnet=True, **_FLUX,  # type: ignore[arg-type]
)  # fmt: skip

_QWEN = dict(
    sampler="euler",
    scheduler="simple",
    steps=20,
    cfg=2.5,
    kinds=(ModelKind.split,),
    text_encoders=(QWEN_VL,),
    clip_type="qwen_image",
    vae=QWEN_VAE,
    latent="EmptySD3LatentImage",
    latent_multiple=16,
    inpaint_conditioning=True,
)
QWEN_EDIT_PLUS = Family(
    "qwen-image-edit-2509", "Qwen-Image Edit 2509",
    (r"qwen[_-]?image[_-]?edit[_-]?(2509|2511|plus)",), MEGAPIXEL,
    model_sampling=("ModelSamplingAuraFlow", 3.0), edit=Edit.qwen_plus, max_references=2,
    **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
QWEN_EDIT = Family(
    "qwen-image-edit", "Qwen-Image Edit", (r"qwen[_-]?image[_-]?edit",), MEGAPIXEL,
    model_sampling=("ModelSamplingAuraFlow", 3.0), edit=Edit.qwen, **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
QWEN_IMAGE = Family(
    "qwen-image", "Qwen-Image", (r"qwen[_-]?image",), Extent(1328, 1328),
    model_sampling=("ModelSamplingAuraFlow", 3.1), **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
Z_IMAGE = Family(
    "z-image-turbo", "Z-Image Turbo", (r"z[_-]?image",), MEGAPIXEL,
    sampler="res_multistep", scheduler="simple", steps=9, cfg=1.0, negative=False,
    kinds=(ModelKind.split,), text_encoders=(QWEN3_4B,), clip_type="lumina2", vae=FLUX_VAE,
    latent="EmptySD3LatentImage", latent_multiple=16, inpaint_conditioning=True,
    model_sampling=("ModelSamplingAuraFlow", 3.0),
)  # fmt: skip
CHROMA = Family(
    "chroma", "Chroma", (r"chroma",), MEGAPIXEL,
    sampler="euler", scheduler="beta", steps=26, cfg=4.0,
    kinds=(ModelKind.split,), text_encoders=(T5XXL,), clip_type="chroma", vae=FLUX_VAE,
    latent="EmptySD3LatentImage", latent_multiple=16, inpaint_conditioning=True,
)  # fmt: skip

FAMILIES: tuple[Family, ...] = (
    FLUX2_KLEIN, FLUX2_DEV, FLUX_KONTEXT, FLUX_SCHNELL, CHROMA, FLUX_DEV,
    QWEN_EDIT_PLUS, QWEN_EDIT, QWEN_IMAGE, Z_IMAGE,
    SD35_LARGE, SD35_MEDIUM, SD3,
    SDXL_PONY, SDXL_ILLUSTRIOUS, SDXL_NOOBAI, SDXL,
    SD15,
)  # fmt: skip

# Other names accepted for --arch and saved settings.
ALIASES = {
    "flux": "flux-dev", "flux1": "flux-dev", "flux-1": "flux-dev", "schnell": "flux-schnell",
    "kontext": "flux-kontext", "flux2": "flux2-dev", "sd35": "sd35-large",
    "pony": "sdxl-pony", "illustrious": "sdxl-illustrious", "noobai": "sdxl-noobai",
    "qwen": "qwen-image", "qwen-edit": "qwen-image-edit", "zimage": "z-image-turbo",
    "z-image": "z-image-turbo", "sd1.5": "sd15", "sd1": "sd15",
}  # fmt: skip
