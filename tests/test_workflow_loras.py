"""``<lora:name:weight>`` in prompts, and resolving LoRA names against the server's files."""

from __future__ import annotations

import pytest

from ai_diffusion.errors import UserError
from ai_diffusion.request import GenerationRequest, LoraRef
from ai_diffusion.workflow import build_workflow
from ai_diffusion.workflow.loras import extract_loras, resolve_lora
from tests.comfy_fixtures import CHECKPOINT, object_info


@pytest.mark.parametrize(
    ("prompt", "text", "loras"),
    [
        ("a fox", "a fox", []),
        ("a fox <lora:pixel:0.8>", "a fox", [LoraRef("pixel", 0.8)]),
        ("<lora:pixel> a fox", "a fox", [LoraRef("pixel", 1.0)]),
        ("a fox, <LORA:Pixel Art:-0.5>, in snow", "a fox, in snow", [LoraRef("Pixel Art", -0.5)]),
        ("<lora:a:.5><lora:b:+2>x", "x", [LoraRef("a", 0.5), LoraRef("b", 2.0)]),
        ("<lora:sub/dir/style.safetensors:1.25>", "", [LoraRef("sub/dir/style.safetensors", 1.25)]),
        ("not a tag <lora:> <lora::1>", "not a tag <lora:> <lora::1>", []),
    ],
)
def test_lora_tags_are_taken_out_of_the_prompt(
    prompt: str, text: str, loras: list[LoraRef]
) -> None:
    assert extract_loras(prompt) == (text, loras)


SERVER = ["Pixel-Art_v2.safetensors", "styles/Watercolor.safetensors", "styles\\ink.pt"]


@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("Pixel-Art_v2.safetensors", "Pixel-Art_v2.safetensors"),
        ("pixel-art_v2", "Pixel-Art_v2.safetensors"),
        ("watercolor", "styles/Watercolor.safetensors"),
        ("styles/watercolor", "styles/Watercolor.safetensors"),
        ("STYLES\\WATERCOLOR.SAFETENSORS", "styles/Watercolor.safetensors"),
        ("ink", "styles\\ink.pt"),
    ],
)
def test_names_resolve_by_stem_case_insensitively(name: str, file: str) -> None:
    assert resolve_lora(name, SERVER) == file


def test_an_unknown_lora_names_close_matches() -> None:
    with pytest.raises(UserError) as error:
        resolve_lora("pixelart", SERVER)
    assert "'pixelart' is not on the server" in error.value.message
    assert "Did you mean 'Pixel-Art_v2'" in error.value.message


def test_an_unknown_lora_without_close_matches() -> None:
    with pytest.raises(UserError, match="3 LoRAs; none is close"):
        resolve_lora("zzzzqqq", SERVER)
    with pytest.raises(UserError, match="no LoRAs; copy the file"):
        resolve_lora("anything", [])


def test_prompt_loras_and_request_loras_stack_in_the_graph() -> None:
    request = GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="fox <lora:RANDOM-SD15-TINY-LORA:0.5>",
        loras=(LoraRef("random-sd15-lora", 0.8),),
    )
    graph = build_workflow(request, object_info()).graph
    loaders = [n for n in graph.values() if n["class_type"] == "LoraLoader"]
    assert [(n["inputs"]["lora_name"], n["inputs"]["strength_model"]) for n in loaders] == [
        ("random-sd15-lora.safetensors", 0.8),
        ("random-sd15-tiny-lora.safetensors", 0.5),
    ]
    # Chained: the second takes the first's model and clip; the prompt has no tag left.
    first = next(k for k, n in graph.items() if n is loaders[0])
    assert loaders[1]["inputs"]["model"] == [first, 0] and loaders[1]["inputs"]["clip"] == [
        first,
        1,
    ]
    texts = [n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"]
    assert "fox" in texts and not any("lora" in t for t in texts)


def test_an_unknown_prompt_lora_fails_the_build_with_a_hint() -> None:
    request = GenerationRequest(checkpoint=CHECKPOINT, prompt="<lora:random-sd15-lor:1>")
    with pytest.raises(UserError, match="Did you mean 'random-sd15-lora'"):
        build_workflow(request, object_info())
