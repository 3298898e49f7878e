"""Every family and mode against both recorded ComfyUI versions: on 0.33.0 each builds a graph
its /object_info validates; on 0.8.0 the families it can run still build, and the newer ones
are refused before anything is posted, with the version the server reports and the one the
family needs, computed (in the builder, in discovery and so in the CLI and the picker)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ai_diffusion.comfy.models import ServerModels
from ai_diffusion.errors import UserError
from ai_diffusion.request import ControlLayer, Extent, GenerationRequest, LoraRef
from ai_diffusion.workflow import build_workflow, default_sampling, validate_graph
from ai_diffusion.workflow.families import Family, all_families
from tests.family_fixtures import family_object_info
from tests.test_cli_models import cli
from tests.test_workflow_build import mask, picture

INFO = {"0.33.0": family_object_info("0.33.0"), "0.8.0": family_object_info("0.8.0")}
VERSION = {"0.33.0": (0, 33, 0), "0.8.0": (0, 8, 0)}
UPDATE = "Update ComfyUI on the server (or rent a pod with a current image)."


def modes(family: Family) -> list[str]:
    out = ["txt2img", "img2img", "inpaint", "inpaint refine", "lora"]
    if family.is_edit:
        out += ["edit", "edit selection"]
    if family.max_references:
        out.append("edit references")
    if family.controlnet:
        out.append("controlnet")
    return out


def request(family: Family, mode: str, info: dict) -> GenerationRequest:
    model = family.examples[0]
    sampling = replace(default_sampling(model, info), seed=3)
    r = GenerationRequest(
        checkpoint=model, prompt="a lighthouse at dusk", negative_prompt="blurry",
        sampling=sampling, extent=Extent(1024, 768),
    )  # fmt: skip
    image = picture(128, 96)
    edit = replace(r, image=image, edit=True, prompt="make the sky stormy")
    return {
        "txt2img": r,
        "img2img": replace(r, image=image, strength=0.6),
        "inpaint": replace(r, image=image, mask=mask(128, 96)),
        "inpaint refine": replace(r, image=image, mask=mask(128, 96), strength=0.5),
        "lora": replace(r, loras=(LoraRef("flux-detailer.safetensors", 0.8),)),
        "edit": edit,
        "edit selection": replace(edit, mask=mask(128, 96)),
        "edit references": replace(
            edit, references=tuple(picture(64, 48, seed=i) for i in range(family.max_references))
        ),
        "controlnet": replace(
            r, controls=(ControlLayer("flux-union-controlnet.safetensors", picture(seed=4)),)
        ),
    }[mode]


CASES = [
    pytest.param(f, m, id=f"{f.id}-{m.replace(' ', '_')}")
    for f in all_families()
    if f.examples
    for m in modes(f)
]


@pytest.mark.parametrize(("family", "mode"), CASES)
def test_every_family_and_mode_builds_on_0_33(family: Family, mode: str) -> None:
    info = INFO["0.33.0"]
    workflow = build_workflow(request(family, mode, info), info, VERSION["0.33.0"])
    validate_graph(workflow.graph, info, uploaded=workflow.inputs)
    loaders = [n["inputs"] for n in workflow.graph.values() if n["class_type"] == "UNETLoader"]
    assert [n["unet_name"] for n in loaders] in ([family.examples[0]], [])


def refusal_on_080(family: Family) -> str:
    assert family.min_version is not None
    needed = ".".join(str(p) for p in family.min_version)
    return (
        f"{family.title} needs ComfyUI {needed} or newer; this server runs ComfyUI 0.8.0. {UPDATE}"
    )


@pytest.mark.parametrize(("family", "mode"), CASES)
def test_on_0_8_the_older_families_build_and_the_newer_are_refused(
    family: Family, mode: str
) -> None:
    info = INFO["0.8.0"]
    r = request(family, mode, info)
    if family.min_version is None:
        workflow = build_workflow(r, info, VERSION["0.8.0"])
        validate_graph(workflow.graph, info, uploaded=workflow.inputs)
        return
    with pytest.raises(UserError) as error:
        build_workflow(r, info, VERSION["0.8.0"])
    assert error.value.message == refusal_on_080(family)


def test_the_families_that_run_on_0_8_are_the_expected_ones() -> None:
    runs = {f.id for f in all_families() if f.examples and f.min_version is None}
    for family_id in ("flux2-dev", "qwen-image", "qwen-image-2512", "qwen-image-edit-2509",
                      "z-image-turbo", "chroma-radiance", "hidream-i1-full"):  # fmt: skip
        assert family_id in runs
    for family_id in ("flux2-klein-4b", "anima", "krea2", "ernie-image", "z-image-base"):
        assert family_id not in runs


def test_discovery_greys_the_newer_families_with_the_servers_version() -> None:
    stats = {"system": {"comfyui_version": "0.8.0"}}
    entries = {e.name: e for e in ServerModels.parse(INFO["0.8.0"], [], stats).usable_models()}
    for family in all_families():
        for name in family.examples:
            entry = entries[name]
            if family.min_version is None:
                assert entry.ready, (name, entry.missing)
            else:
                assert entry.missing == (refusal_on_080(family),)
    newer = {"system": {"comfyui_version": "0.33.0"}}
    entries = {e.name: e for e in ServerModels.parse(INFO["0.33.0"], [], newer).usable_models()}
    assert all(entries[n].ready for f in all_families() for n in f.examples)


def test_a_server_that_hides_its_version_is_judged_by_its_nodes() -> None:
    entries = {e.name: e for e in ServerModels.parse(INFO["0.8.0"], [], {}).usable_models()}
    assert entries["flux-2-klein-4b.safetensors"].ready  # 0.8.0's nodes cannot tell
    (krea,) = entries["krea2_bf16.safetensors"].missing
    assert "does not offer the text encoder type 'krea2'" in krea


def test_the_cli_says_it_for_a_0_8_server() -> None:
    from tests.comfy_fixtures import fake_process

    with fake_process("--version", "0.8.0", "--family-models") as url:
        listed = cli("models", "--server", url)
        assert listed.returncode == 0, listed.stderr
        line = next(x for x in listed.stdout.splitlines() if "flux-2-klein-4b.safetensors" in x)
        assert line.strip() == (
            "flux-2-klein-4b.safetensors  [Flux.2 Klein 4B, split]  incomplete: "
            + refusal_on_080(next(f for f in all_families() if f.id == "flux2-klein-4b"))
        )
        generate = cli("generate", "--server", url, "--model", "anima-base-v1.0.safetensors",
                       "--prompt", "a fox", "--out", "/nonexistent-never-written")  # fmt: skip
        assert generate.returncode != 0
        assert "Anima needs ComfyUI 0.11.0 or newer; this server runs ComfyUI 0.8.0" in (
            generate.stderr
        )
        assert "Traceback" not in generate.stderr
        ran = cli("workflow", "--server", url, "--model", "flux2_dev_fp8mixed.safetensors")
        assert ran.returncode == 0, ran.stderr
