"""The family table: real distribution file names are recognised, every fact in the table
names something ComfyUI 0.33.0 really has (nodes, text-encoder types, samplers, schedulers),
and what a family needs beyond 0.8.0 is declared (the first release that loads it)."""

from __future__ import annotations

import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.request import Extent, ModelKind
from ai_diffusion.workflow.families import all_families, by_id, detect, family_of
from ai_diffusion.workflow.object_info import choices
from ai_diffusion.workflow.requirements import server_refusal
from tests.comfy_fixtures import object_info

INFO = object_info()


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("v1-5-pruned-emaonly.safetensors", None),
        ("sd_xl_base_1.0.safetensors", "sdxl"),
        ("juggernautXL_v9Rdphoto2Lightning.safetensors", "sdxl"),
        ("ponyDiffusionV6XL_v6StartWithThisOne.safetensors", "sdxl-pony"),
        ("waiNSFWIllustrious_v140.safetensors", "sdxl-illustrious"),
        ("noobaiXLNAIXL_vPred10Version.safetensors", "sdxl-noobai"),
        ("sd3.5_large.safetensors", "sd35-large"),
        ("sd3.5_large_fp8_scaled.safetensors", "sd35-large"),
        ("sd3.5_medium.safetensors", "sd35-medium"),
        ("flux1-dev.safetensors", "flux-dev"),
        ("flux1-dev-fp8.safetensors", "flux-dev"),
        ("flux1-schnell.safetensors", "flux-schnell"),
        ("flux1-kontext-dev.safetensors", "flux-kontext"),
        ("flux2_dev_fp8mixed.safetensors", "flux2-dev"),
        ("flux-2-klein-4b.safetensors", "flux2-klein-4b"),
        ("flux-2-klein-base-4b-fp8.safetensors", "flux2-klein-4b-base"),
        ("flux-2-klein-9b-fp8.safetensors", "flux2-klein-9b"),
        ("flux-2-klein-base-9b-fp8.safetensors", "flux2-klein-9b-base"),
        ("qwen_image_fp8_e4m3fn.safetensors", "qwen-image"),
        ("qwen_image_2512_fp8_e4m3fn.safetensors", "qwen-image-2512"),
        ("qwen_image_2512_bf16.safetensors", "qwen-image-2512"),
        ("qwen_image_edit_2511_bf16.safetensors", "qwen-image-edit-2509"),
        ("qwen_image_edit_fp8_e4m3fn.safetensors", "qwen-image-edit"),
        ("qwen_image_edit_2509_fp8_e4m3fn.safetensors", "qwen-image-edit-2509"),
        ("z_image_turbo_bf16.safetensors", "z-image-turbo"),
        ("z_image_bf16.safetensors", "z-image-base"),
        ("z-image-base-fp8.safetensors", "z-image-base"),
        ("anima-base-v1.0.safetensors", "anima"),
        ("animagine-xl-3.1.safetensors", "sdxl"),
        ("krea2_bf16.safetensors", "krea2"),
        ("flux1-krea-dev_fp8_scaled.safetensors", "flux-dev"),
        ("ernie-image.safetensors", "ernie-image"),
        ("ernie-image-turbo.safetensors", "ernie-image-turbo"),
        ("hidream_i1_full_fp8.safetensors", "hidream-i1-full"),
        ("hidream_i1_dev_fp8.safetensors", "hidream-i1-dev"),
        ("hidream_i1_fast_fp8.safetensors", "hidream-i1-fast"),
        ("Chroma1-Radiance-v0.4.safetensors", "chroma-radiance"),
        ("chroma-radiance-x0.safetensors", "chroma-radiance"),
        ("Chroma1-HD.safetensors", "chroma"),
        ("chroma-unlocked-v41-detail-calibrated.safetensors", "chroma"),
        ("subfolder/Flux1-Dev.safetensors", "flux-dev"),
    ],
)
def test_real_file_names_are_recognised(name: str, family: str | None) -> None:
    found = detect(name)
    assert (found.id if found else None) == family


def test_an_unrecognised_checkpoint_is_sd15_and_aliases_work() -> None:
    assert family_of("dreamshaper_8.safetensors").id == "sd15"
    assert by_id("flux").id == "flux-dev" and by_id("Pony").id == "sdxl-pony"
    with pytest.raises(UserError, match="Unknown model family 'sd9'. Known: .*z-image-turbo"):
        by_id("sd9")


def test_every_example_name_is_detected_as_its_own_family() -> None:
    for family in all_families():
        for name in family.examples:
            assert family_of(name).id == family.id, (name, family.id)
    assert by_id("flux2-klein").id == "flux2-klein-4b"  # the id saved settings may hold


@pytest.mark.parametrize("family", all_families(), ids=lambda f: f.id)
def test_every_family_names_what_comfyui_has(family) -> None:  # type: ignore[no-untyped-def]
    assert not family.unsupported
    assert family.latent in INFO
    if family.model_sampling:
        assert family.model_sampling[0] in INFO
    if family.sigmas:
        assert family.sigmas in INFO
        assert family.sampler in choices(INFO, "KSamplerSelect", "sampler_name")
    else:
        assert family.sampler in choices(INFO, "KSampler", "sampler_name")
        assert family.scheduler in choices(INFO, "KSampler", "scheduler")
    assert family.native.pixels >= 512 * 512
    assert family.native.width % family.latent_multiple == 0
    if ModelKind.split in family.kinds or not family.checkpoint_has_text_encoders:
        loader = {1: "CLIPLoader", 2: "DualCLIPLoader", 3: "TripleCLIPLoader"}
        node = loader.get(len(family.text_encoders), "QuadrupleCLIPLoader")
        assert node in INFO
        if node in ("CLIPLoader", "DualCLIPLoader"):
            assert family.clip_type in choices(INFO, node, "type")
        else:
            assert not family.clip_type  # those loaders take no type
    if ModelKind.split in family.kinds:
        assert family.vae is not None and family.vae.folder == "vae"
    for piece in family.text_encoders:
        assert piece.matches(piece.example), piece
    if family.vae:
        assert family.vae.matches(family.vae.example)
        if family.vae.builtin:
            assert family.vae.example in choices(INFO, "VAELoader", "vae_name")
    assert server_refusal(family, INFO, (0, 33, 0)) == ""
    assert family.kinds[0] is ModelKind.checkpoint or family.examples, "examples for placeholders"


# The families that ComfyUI 0.8.0 cannot load, with the first release that does (the research
# sheet's "first release" column); every other family runs on 0.8.0.
NEWER_THAN_080 = {
    "flux2-klein-4b": (0, 9, 2), "flux2-klein-4b-base": (0, 9, 2), "flux2-klein-9b": (0, 9, 2),
    "flux2-klein-9b-base": (0, 9, 2), "z-image-base": (0, 11, 0), "anima": (0, 11, 0),
    "ernie-image": (0, 19, 0), "ernie-image-turbo": (0, 19, 0), "krea2": (0, 26, 0),
}  # fmt: skip


@pytest.mark.parametrize("family", all_families(), ids=lambda f: f.id)
def test_what_each_family_needs_of_comfyui_080(family) -> None:  # type: ignore[no-untyped-def]
    old = object_info("0.8.0")
    assert family.min_version == NEWER_THAN_080.get(family.id)
    refusal = server_refusal(family, old, (0, 8, 0))
    if family.min_version is None:
        assert refusal == ""
    else:
        needed = ".".join(map(str, family.min_version))
        assert refusal == (
            f"{family.title} needs ComfyUI {needed} or newer; this server runs ComfyUI 0.8.0. "
            "Update ComfyUI on the server (or rent a pod with a current image)."
        )


def test_a_server_that_hides_its_version_is_judged_by_its_nodes() -> None:
    old = object_info("0.8.0")
    # Krea 2's text-encoder type came with the release that loads it.
    assert server_refusal(by_id("krea2"), old, None) == (
        "Krea 2 needs ComfyUI 0.26.0 or newer: this server's ComfyUI does not offer the text "
        "encoder type 'krea2'. Update ComfyUI on the server (or rent a pod with a current image)."
    )
    del old["EmptyChromaRadianceLatentImage"]
    assert server_refusal(by_id("chroma-radiance"), old, (0, 8, 0)) == (
        "Chroma Radiance cannot run on this server: this server's ComfyUI has no node "
        "EmptyChromaRadianceLatentImage. Update ComfyUI on the server (or rent a pod with a "
        "current image)."
    )
    assert server_refusal(by_id("anima"), None, None) == ""  # nothing known: try it


def test_the_1024_families_sample_about_one_megapixel() -> None:
    for family in all_families():
        if family.id != "sd15":
            assert 0.9e6 <= family.native.pixels <= 1.8e6, family.id
    assert by_id("sd15").native == Extent(512, 512)


def test_pieces_are_not_confused_with_each_other() -> None:
    flux, flux2, qwen = by_id("flux-dev"), by_id("flux2-dev"), by_id("qwen-image")
    assert flux.vae and flux2.vae and qwen.vae
    assert flux.vae.matches("ae.safetensors") and not flux.vae.matches("flux2-vae.safetensors")
    assert flux2.vae.matches("flux2-vae.safetensors") and not flux2.vae.matches("ae.safetensors")
    assert not qwen.vae.matches("ae.safetensors")
    t5 = flux.text_encoders[1]
    assert t5.matches("t5xxl_fp8_e4m3fn_scaled.safetensors") and not t5.matches(
        "clip_l.safetensors"
    )
    assert t5.missing_message() == (
        "needs a T5-XXL text encoder in models/text_encoders, e.g. t5xxl_fp16.safetensors"
    )
