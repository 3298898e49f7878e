"""The model families the plugin knows, as data.

Facts (loaders, text-encoder types, latent nodes, model-sampling patches, sampling defaults,
native resolutions) follow ComfyUI's own example workflows and blueprints for each family,
checked against the node lists of ComfyUI 0.8.0 and 0.33.0. ``min_version`` is the first
ComfyUI release that loads a family (older ones are refused with that number). [LC] marks a
value ComfyUI's source does not state (the model makers' or the community's usual one).
The order matters: detection takes the first family whose pattern matches the file name, so
specific names come before general ones ("flux-2-klein" before "flux2", "chroma radiance"
before "chroma", "z_image_turbo" before "z_image").
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
QWEN3_8B = Piece("Qwen3 8B text encoder", (r"qwen[_-]?3[_-]?8b",), "qwen_3_8b.safetensors")
QWEN3_06B = Piece(
    "Qwen3 0.6B text encoder", (r"qwen[_-]?3[_-]?0?[._]?6b",), "qwen_3_06b_base.safetensors"
)
QWEN3_VL_4B = Piece(  # [LC] file name
    "Qwen3-VL 4B text encoder", (r"qwen[_-]?3[_-]?vl[_-]?4b",), "qwen_3_vl_4b.safetensors"
)
MISTRAL = Piece(
    "Mistral 3 Small text encoder",
    (r"mistral[_-]?3[_-]?small",),
    "mistral_3_small_flux2_fp8.safetensors",
)
MINISTRAL = Piece(
    "Ministral 3 3B text encoder", (r"ministral[_-]?3[_-]?3b",), "ministral-3-3b.safetensors"
)
# HiDream I1 [LC: names of ComfyUI's examples]: long CLIP-L and CLIP-G, T5-XXL, Llama 3.1.
HIDREAM_CLIP_L = Piece(
    "HiDream CLIP-L text encoder", (r"clip[_-]?l[_-]?hidream",), "clip_l_hidream.safetensors"
)
HIDREAM_CLIP_G = Piece(
    "HiDream CLIP-G text encoder", (r"clip[_-]?g[_-]?hidream",), "clip_g_hidream.safetensors"
)
LLAMA = Piece(
    "Llama 3.1 8B text encoder",
    (r"llama[_-]?3\.?1[_-]?8b",),
    "llama_3.1_8b_instruct_fp8_scaled.safetensors",
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
PIXEL_SPACE = Piece("pixel-space VAE", (r"^pixel_space$",), "pixel_space", "vae", builtin=True)

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
    steps=30, cfg=4.5, examples=("sd3.5_large.safetensors",), **_SD3,  # type: ignore[arg-type]
)  # fmt: skip
SD35_MEDIUM = Family(
    "sd35-medium", "SD 3.5 Medium", (r"sd3\.?5[_-]?medium", r"sd3\.?5m\b"), MEGAPIXEL,
    steps=40, cfg=4.5, examples=("sd3.5_medium.safetensors",), **_SD3,  # type: ignore[arg-type]
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
_FLUX2 = dict(
    sampler="euler",
    scheduler="simple",
    kinds=(ModelKind.split,),
    clip_type="flux2",
    vae=FLUX2_VAE,
    latent="EmptyFlux2LatentImage",
    latent_multiple=16,
    sigmas="Flux2Scheduler",
    inpaint_conditioning=True,
)
# Flux.2 Klein loads from ComfyUI 0.9.2 (its Qwen3 text encoders with type "flux2", and its
# head count). No FluxGuidance: cfg goes through the sampler (CFGGuider). The distilled
# models sample in 4 steps at cfg 1 [LC]; the base models follow ComfyUI's Klein 4B
# blueprint, 20 steps at cfg 5 with a real negative (9B base: the same [LC]). Edit: the image
# and up to 4 references [LC: BFL's count; ComfyUI sets none] as ReferenceLatent.
_KLEIN = dict(edit=Edit.reference, max_references=4, min_version=(0, 9, 2), **_FLUX2)  # type: ignore[arg-type]
FLUX2_KLEIN_9B_BASE = Family(
    "flux2-klein-9b-base", "Flux.2 Klein 9B base",
    (r"flux[_.-]?2[_.-]?klein.*(base.*9b|9b.*base)",), MEGAPIXEL,
    steps=20, cfg=5.0, text_encoders=(QWEN3_8B,),
    examples=("flux-2-klein-base-9b-fp8.safetensors",), **_KLEIN,  # type: ignore[arg-type]
)  # fmt: skip
FLUX2_KLEIN_9B = Family(
    "flux2-klein-9b", "Flux.2 Klein 9B", (r"flux[_.-]?2[_.-]?klein.*9b",), MEGAPIXEL,
    steps=4, cfg=1.0, negative=False, text_encoders=(QWEN3_8B,),
    examples=("flux-2-klein-9b.safetensors",), **_KLEIN,  # type: ignore[arg-type]
)  # fmt: skip
FLUX2_KLEIN_4B_BASE = Family(
    "flux2-klein-4b-base", "Flux.2 Klein 4B base", (r"flux[_.-]?2[_.-]?klein.*base",),
    MEGAPIXEL, steps=20, cfg=5.0, text_encoders=(QWEN3_4B,),
    examples=("flux-2-klein-base-4b-fp8.safetensors",), **_KLEIN,  # type: ignore[arg-type]
)  # fmt: skip
FLUX2_KLEIN_4B = Family(
    "flux2-klein-4b", "Flux.2 Klein 4B", (r"flux[_.-]?2[_.-]?klein",), MEGAPIXEL,
    steps=4, cfg=1.0, negative=False, text_encoders=(QWEN3_4B,),
    examples=("flux-2-klein-4b.safetensors",), **_KLEIN,  # type: ignore[arg-type]
)  # fmt: skip
FLUX2_DEV = Family(
    "flux2-dev", "Flux.2 dev", (r"flux[_.-]?2",), MEGAPIXEL,
    steps=20, cfg=1.0, guidance=4.0, negative=False, text_encoders=(MISTRAL,),
    examples=("flux2_dev_fp8mixed.safetensors",), **_FLUX2,  # type: ignore[arg-type]
)  # fmt: skip
FLUX_KONTEXT = Family(
    "flux-kontext", "Flux.1 Kontext dev", (r"kontext",), MEGAPIXEL,
    steps=20, guidance=2.5, edit=Edit.kontext, max_references=2,
    examples=("flux1-kontext-dev.safetensors",), **_FLUX,  # type: ignore[arg-type]
)  # fmt: skip
FLUX_SCHNELL = Family(
    "flux-schnell", "Flux.1 schnell", (r"flux.*schnell", r"schnell"), MEGAPIXEL,
    steps=4, controlnet=True, examples=("flux1-schnell.safetensors",),
    **_FLUX,  # type: ignore[arg-type]
)  # fmt: skip
FLUX_DEV = Family(
    "flux-dev", "Flux.1 dev", (r"flux",), MEGAPIXEL,
    steps=20, guidance=3.5, controlnet=True, examples=("flux1-dev.safetensors",),
    **_FLUX,  # type: ignore[arg-type]
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
QWEN_EDIT_PLUS = Family(  # the canvas and up to 2 references: the node takes 3 images
    "qwen-image-edit-2509", "Qwen-Image Edit 2509/2511",
    (r"qwen[_-]?image[_-]?edit[_-]?(2509|2511|plus)",), MEGAPIXEL,
    model_sampling=("ModelSamplingAuraFlow", 3.0), edit=Edit.qwen_plus, max_references=2,
    examples=("qwen_image_edit_2509_fp8_e4m3fn.safetensors",
              "qwen_image_edit_2511_bf16.safetensors"),
    **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
QWEN_EDIT = Family(
    "qwen-image-edit", "Qwen-Image Edit", (r"qwen[_-]?image[_-]?edit",), MEGAPIXEL,
    model_sampling=("ModelSamplingAuraFlow", 3.0), edit=Edit.qwen,
    examples=("qwen_image_edit_fp8_e4m3fn.safetensors",), **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
QWEN_IMAGE_2512 = Family(  # a newer Qwen-Image checkpoint: the same model class and graph
    "qwen-image-2512", "Qwen-Image 2512", (r"qwen[_-]?image[_-]?2512",), Extent(1328, 1328),
    model_sampling=("ModelSamplingAuraFlow", 3.1),
    examples=("qwen_image_2512_fp8_e4m3fn.safetensors",), **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip
QWEN_IMAGE = Family(
    "qwen-image", "Qwen-Image", (r"qwen[_-]?image",), Extent(1328, 1328),
    model_sampling=("ModelSamplingAuraFlow", 3.1),
    examples=("qwen_image_fp8_e4m3fn.safetensors",), **_QWEN,  # type: ignore[arg-type]
)  # fmt: skip

_Z_IMAGE = dict(
    sampler="res_multistep",
    scheduler="simple",
    kinds=(ModelKind.split,),
    text_encoders=(QWEN3_4B,),
    clip_type="lumina2",
    vae=FLUX_VAE,
    latent="EmptySD3LatentImage",
    latent_multiple=16,
    inpaint_conditioning=True,
    model_sampling=("ModelSamplingAuraFlow", 3.0),
    control_patch=True,  # in models/model_patches; checked against 0.33's nodes_model_patch.py
    control_examples=("Z-Image-Turbo-Fun-Controlnet-Union.safetensors",),
)
Z_IMAGE_BASE = Family(  # released after ComfyUI 0.8.0; 0.11.0 reads all its weights [LC]
    "z-image-base", "Z-Image base",
    (r"z[_-]?image[_-]?base", r"^z[_-]?image[_-]?(bf16|fp16|fp8|fp32)"), MEGAPIXEL,
    steps=25, cfg=4.0, min_version=(0, 11, 0), examples=("z_image_bf16.safetensors",),
    **_Z_IMAGE,  # type: ignore[arg-type]
)  # fmt: skip
Z_IMAGE = Family(
    "z-image-turbo", "Z-Image Turbo", (r"z[_-]?image",), MEGAPIXEL,
    steps=9, cfg=1.0, negative=False, examples=("z_image_turbo_bf16.safetensors",),
    **_Z_IMAGE,  # type: ignore[arg-type]
)  # fmt: skip

ANIMA = Family(
    "anima", "Anima", (r"(?<![a-z])anima(?![a-z])",), MEGAPIXEL,
    sampler="er_sde", scheduler="simple", steps=30, cfg=4.0,
    kinds=(ModelKind.split,), text_encoders=(QWEN3_06B,), clip_type="stable_diffusion",
    vae=QWEN_VAE, latent="EmptyLatentImage", latent_multiple=16, inpaint_conditioning=True,
    min_version=(0, 11, 0), examples=("anima-base-v1.0.safetensors",),
)  # fmt: skip
KREA2 = Family(  # Krea 2 ("K2"), not Flux.1 Krea dev; file names, VAE and sampling [LC]
    "krea2", "Krea 2", (r"krea[_-]?2", r"krea[_-]?k2"), MEGAPIXEL,
    sampler="euler", scheduler="simple", steps=20, cfg=4.0,
    kinds=(ModelKind.split,), text_encoders=(QWEN3_VL_4B,), clip_type="krea2", vae=QWEN_VAE,
    latent="EmptySD3LatentImage", latent_multiple=16, inpaint_conditioning=True,
    min_version=(0, 26, 0), examples=("krea2_bf16.safetensors",),
)  # fmt: skip
_ERNIE = dict(
    sampler="euler",
    scheduler="simple",
    kinds=(ModelKind.split,),
    text_encoders=(MINISTRAL,),
    clip_type="flux2",
    vae=FLUX2_VAE,
    latent="EmptyFlux2LatentImage",
    latent_multiple=16,
    inpaint_conditioning=True,
    min_version=(0, 19, 0),
)
ERNIE_TURBO = Family(
    "ernie-image-turbo", "ERNIE-Image Turbo", (r"ernie.*turbo",), MEGAPIXEL,
    steps=8, cfg=1.0, negative=False, examples=("ernie-image-turbo.safetensors",),
    **_ERNIE,  # type: ignore[arg-type]
)  # fmt: skip
ERNIE = Family(
    "ernie-image", "ERNIE-Image", (r"ernie",), MEGAPIXEL,
    steps=20, cfg=4.0, examples=("ernie-image.safetensors",), **_ERNIE,  # type: ignore[arg-type]
)  # fmt: skip

# HiDream I1 [LC: files and settings of ComfyUI's examples]: four text encoders
# (QuadrupleCLIPLoader, no type), the shift through ModelSamplingSD3.
_HIDREAM = dict(
    kinds=(ModelKind.split,),
    text_encoders=(HIDREAM_CLIP_L, HIDREAM_CLIP_G, T5XXL, LLAMA),
    vae=FLUX_VAE,
    latent="EmptySD3LatentImage",
    latent_multiple=16,
    inpaint_conditioning=True,
)
HIDREAM_DEV = Family(
    "hidream-i1-dev", "HiDream I1 dev", (r"hidream[_-]?i1[_-]?dev",), MEGAPIXEL,
    sampler="lcm", scheduler="normal", steps=28, cfg=1.0, negative=False,
    model_sampling=("ModelSamplingSD3", 6.0), examples=("hidream_i1_dev_fp8.safetensors",),
    **_HIDREAM,  # type: ignore[arg-type]
)  # fmt: skip
HIDREAM_FAST = Family(
    "hidream-i1-fast", "HiDream I1 fast", (r"hidream[_-]?i1[_-]?fast",), MEGAPIXEL,
    sampler="lcm", scheduler="normal", steps=16, cfg=1.0, negative=False,
    model_sampling=("ModelSamplingSD3", 3.0), examples=("hidream_i1_fast_fp8.safetensors",),
    **_HIDREAM,  # type: ignore[arg-type]
)  # fmt: skip
HIDREAM_FULL = Family(
    "hidream-i1-full", "HiDream I1 full", (r"hidream[_-]?i1",), MEGAPIXEL,
    sampler="uni_pc", scheduler="simple", steps=50, cfg=5.0,
    model_sampling=("ModelSamplingSD3", 3.0), examples=("hidream_i1_full_fp8.safetensors",),
    **_HIDREAM,  # type: ignore[arg-type]
)  # fmt: skip

# Chroma Radiance samples pixels: ComfyUI's built-in "pixel_space" VAE and its own empty
# latent. File name and sampling as for Chroma [LC].
CHROMA_RADIANCE = Family(
    "chroma-radiance", "Chroma Radiance", (r"chroma.*radiance", r"radiance"), MEGAPIXEL,
    sampler="euler", scheduler="beta", steps=26, cfg=4.0,
    kinds=(ModelKind.split,), text_encoders=(T5XXL,), clip_type="chroma", vae=PIXEL_SPACE,
    latent="EmptyChromaRadianceLatentImage", latent_multiple=16, inpaint_conditioning=True,
    examples=("Chroma1-Radiance-v0.4.safetensors",),
)  # fmt: skip
CHROMA = Family(
    "chroma", "Chroma", (r"chroma",), MEGAPIXEL,
    sampler="euler", scheduler="beta", steps=26, cfg=4.0,
    kinds=(ModelKind.split,), text_encoders=(T5XXL,), clip_type="chroma", vae=FLUX_VAE,
    latent="EmptySD3LatentImage", latent_multiple=16, inpaint_conditioning=True,
    examples=("Chroma1-HD.safetensors",),
)  # fmt: skip

FAMILIES: tuple[Family, ...] = (
    FLUX2_KLEIN_9B_BASE, FLUX2_KLEIN_9B, FLUX2_KLEIN_4B_BASE, FLUX2_KLEIN_4B, FLUX2_DEV,
    FLUX_KONTEXT, FLUX_SCHNELL, CHROMA_RADIANCE, CHROMA, FLUX_DEV,
    QWEN_EDIT_PLUS, QWEN_EDIT, QWEN_IMAGE_2512, QWEN_IMAGE, Z_IMAGE_BASE, Z_IMAGE,
    ANIMA, KREA2, ERNIE_TURBO, ERNIE, HIDREAM_DEV, HIDREAM_FAST, HIDREAM_FULL,
    SD35_LARGE, SD35_MEDIUM, SD3,
    SDXL_PONY, SDXL_ILLUSTRIOUS, SDXL_NOOBAI, SDXL,
    SD15,
)  # fmt: skip

# Other names accepted for --arch and saved settings.
ALIASES = {
    "flux": "flux-dev", "flux1": "flux-dev", "flux-1": "flux-dev", "schnell": "flux-schnell",
    "kontext": "flux-kontext", "flux2": "flux2-dev", "sd35": "sd35-large",
    "klein": "flux2-klein-4b", "flux2-klein": "flux2-klein-4b", "qwen-2512": "qwen-image-2512",
    "pony": "sdxl-pony", "illustrious": "sdxl-illustrious", "noobai": "sdxl-noobai",
    "qwen": "qwen-image", "qwen-edit": "qwen-image-edit", "zimage": "z-image-turbo",
    "z-image": "z-image-turbo", "ernie": "ernie-image", "hidream": "hidream-i1-full",
    "radiance": "chroma-radiance", "k2": "krea2", "sd1.5": "sd15", "sd1": "sd15",
}  # fmt: skip
