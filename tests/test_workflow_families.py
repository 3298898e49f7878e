"""Graphs per model family and mode: golden graphs, validated against the captured
/object_info (with the families' files listed) by the product's validator and by the fake
ComfyUI's validation, plus what each family's graph must do.

Golden graphs live in tests/golden/families/<case>.json (one file per family, one graph per
mode). Regenerate after an intended change with AID_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.request import ControlLayer, Extent, GenerationRequest, LoraRef, Mode
from ai_diffusion.workflow import build_workflow, default_sampling, validate_graph
from tests.fakes.comfy_validation import validate as fake_validate
from tests.family_fixtures import family_object_info, with_models
from tests.test_workflow_build import mask, nodes, one, picture

GOLDEN = Path(__file__).parent / "golden" / "families"
UPDATE = os.environ.get("AID_UPDATE_GOLDEN") == "1"
INFO = family_object_info()

CASES = {
    "sdxl": "sd_xl_base_1.0.safetensors",
    "sd35-large": "sd3.5_large.safetensors",
    "flux-dev": "flux1-dev.safetensors",
    "flux-dev-checkpoint": "flux1-dev-fp8.safetensors",
    "flux-schnell": "flux1-schnell.safetensors",
    "flux-kontext": "flux1-kontext-dev.safetensors",
    "flux2-dev": "flux2_dev_fp8mixed.safetensors",
    "qwen-image": "qwen_image_fp8_e4m3fn.safetensors",
    "qwen-image-edit": "qwen_image_edit_fp8_e4m3fn.safetensors",
    "qwen-image-edit-2509": "qwen_image_edit_2509_fp8_e4m3fn.safetensors",
    "z-image-turbo": "z_image_turbo_bf16.safetensors",
    "chroma": "Chroma1-HD.safetensors",
    "flux2-klein-4b": "flux-2-klein-4b.safetensors",
    "flux2-klein-9b-base": "flux-2-klein-base-9b-fp8.safetensors",
    "qwen-image-2512": "qwen_image_2512_fp8_e4m3fn.safetensors",
    "qwen-image-edit-2511": "qwen_image_edit_2511_bf16.safetensors",
    "z-image-base": "z_image_bf16.safetensors",
    "anima": "anima-base-v1.0.safetensors",
    "krea2": "krea2_bf16.safetensors",
    "ernie-image": "ernie-image.safetensors",
    "ernie-image-turbo": "ernie-image-turbo.safetensors",
    "hidream-i1-dev": "hidream_i1_dev_fp8.safetensors",
    "chroma-radiance": "Chroma1-Radiance-v0.4.safetensors",
}
EDIT_CASES = {
    "flux-kontext", "qwen-image-edit", "qwen-image-edit-2509", "qwen-image-edit-2511",
    "flux2-klein-4b", "flux2-klein-9b-base",
}  # fmt: skip
LORAS = {"sdxl": "random-sd15-lora.safetensors"}  # any listed LoRA file will do


def base(model: str) -> GenerationRequest:
    sampling = replace(default_sampling(model, INFO), seed=42)
    return GenerationRequest(
        checkpoint=model, prompt="a red fox in snow", negative_prompt="blurry",
        sampling=sampling, extent=Extent(1024, 768),
    )  # fmt: skip


def requests_for(case: str) -> dict[str, GenerationRequest]:
    r = base(CASES[case])
    lora = LORAS.get(case, "flux-detailer.safetensors")
    out = {
        "txt2img": r,
        "img2img": replace(r, image=picture(), strength=0.6),
        "inpaint": replace(r, image=picture(), mask=mask()),
        "inpaint_refine": replace(r, image=picture(), mask=mask(), strength=0.5),
        "lora": replace(r, loras=(LoraRef(lora, 0.8),)),
    }
    if case in EDIT_CASES:
        out["edit"] = replace(r, prompt="make the sky stormy", image=picture(), edit=True)
        out["edit_selection"] = replace(out["edit"], mask=mask())
        if case != "qwen-image-edit":
            refs = (picture(64, 64, seed=5), picture(48, 80, seed=6))
            out["edit_references"] = replace(out["edit"], references=refs)
    return out


def normalised(workflow: Any) -> dict[str, Any]:
    text = json.dumps(workflow.graph, sort_keys=True)
    for i, name in enumerate(workflow.inputs, 1):
        text = text.replace(name, f"<input {i}>")
    return json.loads(text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_graphs_per_family_and_mode(case: str) -> None:
    graphs = {}
    for mode, request in requests_for(case).items():
        workflow = build_workflow(request, INFO)
        validate_graph(workflow.graph, INFO, uploaded=workflow.inputs)
        assert fake_validate(workflow.graph, INFO, set(workflow.inputs)) is None, (case, mode)
        graphs[mode] = normalised(workflow)
    path = GOLDEN / f"{case}.json"
    if UPDATE:
        path.write_text(json.dumps(graphs, indent=1, sort_keys=True) + "\n")
    assert path.exists(), f"{path.name} is missing; run with AID_UPDATE_GOLDEN=1 to write it"
    assert json.loads(path.read_text()) == graphs, (
        f"the graphs of {case} changed; if intended, regenerate with AID_UPDATE_GOLDEN=1"
    )


def build(case: str, mode: str, **changes: Any) -> dict[str, Any]:
    return build_workflow(replace(requests_for(case)[mode], **changes), INFO).graph


def test_split_flux_loads_its_three_pieces_and_guides_without_cfg() -> None:
    g = build("flux-dev", "txt2img")
    assert one(g, "UNETLoader")["inputs"]["unet_name"] == "flux1-dev.safetensors"
    clip = one(g, "DualCLIPLoader")["inputs"]
    assert (clip["clip_name1"], clip["clip_name2"], clip["type"]) == (
        "clip_l.safetensors", "t5xxl_fp16.safetensors", "flux",
    )  # fmt: skip
    assert one(g, "VAELoader")["inputs"]["vae_name"] == "ae.safetensors"
    assert one(g, "FluxGuidance")["inputs"]["guidance"] == 3.5
    sampler = one(g, "KSampler")["inputs"]
    assert (sampler["cfg"], sampler["sampler_name"], sampler["scheduler"]) == (
        1.0,
        "euler",
        "simple",
    )
    latent = one(g, "EmptySD3LatentImage")["inputs"]
    assert latent["width"] % 16 == 0 and latent["height"] % 16 == 0
    assert 0.9e6 < latent["width"] * latent["height"] < 1.15e6
    assert build("flux-dev", "txt2img", guidance=2.0) != g
    assert (
        one(build("flux-dev", "txt2img", guidance=2.0), "FluxGuidance")["inputs"]["guidance"] == 2.0
    )


def test_a_flux_checkpoint_loads_as_one_file() -> None:
    g = build("flux-dev-checkpoint", "txt2img")
    assert nodes(g, "UNETLoader") == [] and nodes(g, "DualCLIPLoader") == []
    assert one(g, "CheckpointLoaderSimple")["inputs"]["ckpt_name"] == "flux1-dev-fp8.safetensors"
    assert one(g, "FluxGuidance")


@pytest.mark.parametrize(
    ("case", "patch", "shift"),
    [("z-image-turbo", "ModelSamplingAuraFlow", 3.0), ("qwen-image", "ModelSamplingAuraFlow", 3.1),
     ("sd35-large", "ModelSamplingSD3", 3.0)],
)  # fmt: skip
def test_model_sampling_patches(case: str, patch: str, shift: float) -> None:
    assert one(build(case, "txt2img"), patch)["inputs"]["shift"] == shift


def test_distilled_models_zero_the_negative_and_others_use_it() -> None:
    z = build("z-image-turbo", "txt2img")
    assert one(z, "ConditioningZeroOut") and len(nodes(z, "CLIPTextEncode")) == 1
    assert one(z, "CLIPLoader")["inputs"]["type"] == "lumina2"
    chroma = build("chroma", "txt2img")
    assert {n["inputs"]["text"] for n in nodes(chroma, "CLIPTextEncode")} == {
        "a red fox in snow", "blurry",
    }  # fmt: skip


def test_flux2_samples_with_its_scheduler_and_trims_sigmas_for_img2img() -> None:
    g = build("flux2-dev", "txt2img")
    assert one(g, "CLIPLoader")["inputs"]["type"] == "flux2"
    scheduler = one(g, "Flux2Scheduler")["inputs"]
    latent = one(g, "EmptyFlux2LatentImage")["inputs"]
    assert (scheduler["width"], scheduler["height"]) == (latent["width"], latent["height"])
    assert one(g, "BasicGuider") and one(g, "SamplerCustomAdvanced")
    refine = build("flux2-dev", "img2img")
    assert one(refine, "SplitSigmasDenoise")["inputs"]["denoise"] == 0.6


@pytest.mark.parametrize("case", ["flux-dev", "qwen-image", "z-image-turbo", "chroma", "flux2-dev"])
def test_flow_inpaint_conditions_on_the_mask_and_composites_once(case: str) -> None:
    g = build(case, "inpaint")
    conditioning = one(g, "InpaintModelConditioning")["inputs"]
    assert conditioning["noise_mask"] is True
    assert one(g, "DifferentialDiffusion")
    assert nodes(g, "VAEEncodeForInpaint") == [] and nodes(g, "SetLatentNoiseMask") == []
    # The result is the generated image with the feathered mask as alpha: pasting it blends
    # with the original exactly once (blending here too would square the feather).
    assert nodes(g, "ImageCompositeMasked") == []
    join = one(g, "JoinImageWithAlpha")["inputs"]
    assert g[join["alpha"][0]]["class_type"] == "InvertMask"
    assert g[join["image"][0]]["class_type"] != "LoadImage"
    # The sampler's model is the differential-diffusion one.
    sampler = nodes(g, "KSampler") or nodes(g, "BasicGuider")
    assert g[sampler[0]["inputs"]["model"][0]]["class_type"] == "DifferentialDiffusion"


def test_loras_patch_only_the_model_where_the_family_has_no_text_encoder_part() -> None:
    flux = build("flux-dev", "lora")
    lora = one(flux, "LoraLoaderModelOnly")["inputs"]
    assert (lora["lora_name"], lora["strength_model"]) == ("flux-detailer.safetensors", 0.8)
    assert nodes(flux, "LoraLoader") == []
    assert one(build("sdxl", "lora"), "LoraLoader")["inputs"]["strength_clip"] == 0.8


def test_kontext_edit_references_the_image_and_each_reference() -> None:
    g = build("flux-kontext", "edit_references")
    assert len(nodes(g, "ReferenceLatent")) == 3
    assert len(nodes(g, "FluxKontextImageScale")) == 2
    assert one(g, "FluxGuidance")["inputs"]["guidance"] == 2.5
    sampler = one(g, "KSampler")["inputs"]
    assert g[sampler["latent_image"][0]]["class_type"] == "VAEEncode"
    assert sampler["denoise"] == 1.0
    assert build_workflow(requests_for("flux-kontext")["edit"], INFO).mode is Mode.edit


def test_qwen_edit_2509_takes_up_to_three_images() -> None:
    g = build("qwen-image-edit-2509", "edit_references")
    encoders = nodes(g, "TextEncodeQwenImageEditPlus")
    assert len(encoders) == 2  # positive and negative
    assert {"image1", "image2", "image3"} <= set(encoders[0]["inputs"])
    too_many = (picture(seed=7),) * 3
    with pytest.raises(UserError, match="at most 2 reference images besides the canvas"):
        build("qwen-image-edit-2509", "edit", references=too_many)
    single = build("qwen-image-edit", "edit")
    assert len(nodes(single, "TextEncodeQwenImageEdit")) == 2


def test_edit_in_a_selection_keeps_pixels_outside_the_feathered_mask() -> None:
    g = build("qwen-image-edit", "edit_selection")
    join = one(g, "JoinImageWithAlpha")["inputs"]  # the feathered mask becomes the alpha
    assert g[join["alpha"][0]]["class_type"] == "InvertMask"
    assert nodes(g, "ImageCompositeMasked") == []
    assert nodes(build("qwen-image-edit", "edit"), "JoinImageWithAlpha") == []


def test_edit_needs_an_edit_model() -> None:
    edit = requests_for("flux-kontext")["edit"]
    with pytest.raises(UserError, match="Flux.1 dev is not an instruction-editing model"):
        build_workflow(replace(edit, checkpoint=CASES["flux-dev"]), INFO)


def test_controlnet_where_core_supports_it_and_a_clear_error_elsewhere() -> None:
    control = ControlLayer("flux-union-controlnet.safetensors", picture(seed=3))
    flux = build("flux-dev", "txt2img", controls=(control,))
    assert one(flux, "ControlNetApplyAdvanced")["inputs"]["vae"]
    for case in ("qwen-image", "chroma", "sd35-large", "flux2-dev", "anima"):
        with pytest.raises(UserError, match="ControlNet is not available for .* models"):
            build(case, "txt2img", controls=(control,))
    # Z-Image's ControlNets are model patches: loaded from models/model_patches and applied to
    # the model the sampler uses, the control image at the sampling size.
    with pytest.raises(UserError, match="no ControlNet model patch named 'flux-union"):
        build("z-image-base", "txt2img", controls=(control,))
    patch = ControlLayer("Z-Image-Turbo-Fun-Controlnet-Union.safetensors", picture(seed=3), 0.7)
    for case in ("z-image-turbo", "z-image-base"):
        g = build(case, "txt2img", controls=(patch,))
        assert one(g, "ModelPatchLoader")["inputs"]["name"] == patch.model
        patched = one(g, "QwenImageDiffsynthControlnet")["inputs"]
        assert patched["strength"] == 0.7 and g[patched["image"][0]]["class_type"] == "ImageScale"
        sampler_model = one(g, "KSampler")["inputs"]["model"]
        chain = [g[sampler_model[0]]["class_type"]]
        while g[sampler_model[0]]["inputs"].get("model"):
            sampler_model = g[sampler_model[0]]["inputs"]["model"]
            chain.append(g[sampler_model[0]]["class_type"])
        assert "QwenImageDiffsynthControlnet" in chain  # the sampler uses the patched model
        assert nodes(g, "ControlNetApplyAdvanced") == []


def test_klein_edits_with_reference_latents_on_both_conditionings() -> None:
    g = build("flux2-klein-4b", "edit_references")
    assert one(g, "CLIPLoader")["inputs"] == {"clip_name": "qwen_3_4b.safetensors", "type": "flux2"}
    assert one(g, "VAELoader")["inputs"]["vae_name"] == "flux2-vae.safetensors"
    assert nodes(g, "FluxGuidance") == []  # Klein has no guidance input: cfg goes to the guider
    assert len(nodes(g, "ReferenceLatent")) == 6  # the image and 2 references, twice
    assert len(nodes(g, "ImageScaleToTotalPixels")) == 2
    assert one(g, "BasicGuider") and one(g, "Flux2Scheduler")["inputs"]["steps"] == 4
    base_model = build("flux2-klein-9b-base", "edit")
    guider = one(base_model, "CFGGuider")["inputs"]
    assert guider["cfg"] == 5.0
    for side in ("positive", "negative"):
        assert base_model[guider[side][0]]["class_type"] == "ReferenceLatent"
    assert one(base_model, "CLIPLoader")["inputs"]["clip_name"] == "qwen_3_8b.safetensors"
    with pytest.raises(UserError, match="at most 4 reference images besides the canvas"):
        build("flux2-klein-4b", "edit", references=(picture(seed=7),) * 5)


def test_the_newer_families_use_their_own_nodes() -> None:
    anima = build("anima", "txt2img")
    assert one(anima, "CLIPLoader")["inputs"]["type"] == "stable_diffusion"
    assert one(anima, "KSampler")["inputs"]["sampler_name"] == "er_sde"
    assert one(anima, "EmptyLatentImage")
    assert one(build("krea2", "txt2img"), "CLIPLoader")["inputs"]["type"] == "krea2"
    ernie = build("ernie-image", "txt2img")
    assert one(ernie, "CLIPLoader")["inputs"] == {
        "clip_name": "ministral-3-3b.safetensors", "type": "flux2",
    }  # fmt: skip
    assert one(ernie, "EmptyFlux2LatentImage") and len(nodes(ernie, "CLIPTextEncode")) == 2
    turbo = build("ernie-image-turbo", "txt2img")
    assert one(turbo, "ConditioningZeroOut") and one(turbo, "KSampler")["inputs"]["steps"] == 8
    hidream = one(build("hidream-i1-dev", "txt2img"), "QuadrupleCLIPLoader")["inputs"]
    assert hidream["clip_name4"] == "llama_3.1_8b_instruct_fp8_scaled.safetensors"
    radiance = build("chroma-radiance", "txt2img")
    assert one(radiance, "VAELoader")["inputs"]["vae_name"] == "pixel_space"
    assert one(radiance, "EmptyChromaRadianceLatentImage")
    z = build("z-image-base", "txt2img")
    assert len(nodes(z, "CLIPTextEncode")) == 2 and one(z, "KSampler")["inputs"]["cfg"] == 4.0


def test_a_missing_piece_is_named() -> None:
    bare = with_models(family_object_info(), {})
    for class_type, name in [("CLIPLoader", "clip_name"), ("DualCLIPLoader", "clip_name2")]:
        options = bare[class_type]["input"]["required"][name]
        options[0] = [o for o in options[0] if "t5xxl" not in o]
    with pytest.raises(UserError) as error:
        build_workflow(base("flux1-dev.safetensors"), bare)
    assert "needs a T5-XXL text encoder in models/text_encoders" in error.value.message
    assert "press Refresh" in error.value.message


def test_the_painters_pieces_and_family_win() -> None:
    r = replace(
        base("mystery_model.safetensors"), family="chroma",
        text_encoders=("t5xxl_fp16.safetensors",), vae="ae.safetensors",
    )  # fmt: skip
    g = build_workflow(r, INFO).graph
    assert one(g, "CLIPLoader")["inputs"] == {
        "clip_name": "t5xxl_fp16.safetensors",
        "type": "chroma",
    }
    with pytest.raises(UserError, match="needs 2 text encoders"):
        build_workflow(
            replace(base("flux1-dev.safetensors"), text_encoders=("clip_l.safetensors",)), INFO
        )


def test_without_object_info_the_family_example_pieces_stand_in() -> None:
    g = build_workflow(base("z_image_turbo_bf16.safetensors")).graph
    assert one(g, "CLIPLoader")["inputs"]["clip_name"] == "qwen_3_4b.safetensors"
    assert one(g, "UNETLoader")["inputs"]["unet_name"] == "z_image_turbo_bf16.safetensors"
