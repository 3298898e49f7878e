"""The family table: real distribution file names are recognised, and every fact in the table
names something ComfyUI 0.8.0 really has (nodes, text-encoder types, samplers, schedulers)."""

from __future__ import annotations

import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.request import Extent, ModelKind
from ai_diffusion.workflow.families import all_families, by_id, detect, family_of
from ai_diffusion.workflow.object_info import choices
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
        ("flux-2-klein-4b.safetensors", "flux2-klein"),
        ("qwen_image_fp8_e4m3fn.safetensors", "qwen-image"),
        ("qwen_image_edit_fp8_e4m3fn.safetensors", "qwen-image-edit"),
        ("qwen_image_edit_2509_fp8_e4m3fn.safetensors", "qwen-image-edit-2509"),
        ("z_image_turbo_bf16.safetensors", "z-image-turbo"),
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


def test_flux2_klein_is_detected_and_refused_with_a_clear_message() -> None:
    klein = family_of("flux-2-klein-4b.safetensors")
    assert klein.unsupported
    assert "Flux.2 Klein cannot be used yet" in klein.unsupported
    assert "Choose another model" in klein.unsupported


@pytest.mark.parametrize("family", all_families(), ids=lambda f: f.id)
def test_every_family_names_what_comfyui_has(family) -> None:  # type: ignore[no-untyped-def]
    if family.unsupported:
        return
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
        node = loader[len(family.text_encoders)]
        if node != "TripleCLIPLoader":
            assert family.clip_type in choices(INFO, node, "type")
    if ModelKind.split in family.kinds:
        assert family.vae is not None and family.vae.folder == "vae"
    for piece in family.text_encoders:
        assert piece.matches(piece.example), piece
    if family.vae:
        assert family.vae.matches(family.vae.example)


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
