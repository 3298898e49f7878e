"""The CLI with split models and edit models: --model (alias --checkpoint), --text-encoder,
--vae, --arch, --guidance, --edit, --reference; workflow --object-info / --server resolve the
pieces against the server's files; sampling defaults come from the family."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.family_fixtures import family_object_info
from tests.test_cli_workflows import cli
from tests.test_model_discovery import family_server  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def info_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("info") / "object_info.json"
    path.write_text(json.dumps(family_object_info()))
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(2)
    paths = {}
    for name, size in [("canvas", (320, 256)), ("ref1", (64, 64)), ("ref2", (80, 48))]:
        paths[name] = folder / f"{name}.png"
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(
            paths[name]
        )
    mask = Image.new("L", (320, 256), 0)
    mask.paste(255, (100, 80, 200, 160))
    paths["mask"] = folder / "mask.png"
    mask.save(paths["mask"])
    return paths


def graph_of(*args: str) -> dict:
    result = cli("workflow", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def classes(graph: dict) -> list[str]:
    return [n["class_type"] for n in graph.values()]


def only(graph: dict, class_type: str) -> dict:
    (node,) = [n for n in graph.values() if n["class_type"] == class_type]
    return node["inputs"]


def test_split_model_pieces_are_found_on_the_saved_server(info_file: Path) -> None:
    g = graph_of("--model", "flux1-dev.safetensors", "--prompt", "a fox",
                 "--object-info", str(info_file))  # fmt: skip
    assert only(g, "DualCLIPLoader")["clip_name2"] == "t5xxl_fp16.safetensors"
    sampler = only(g, "KSampler")
    # Family defaults: Flux.1 dev samples with euler/simple, 20 steps, cfg 1, at ~1 MP.
    assert (sampler["sampler_name"], sampler["scheduler"], sampler["steps"], sampler["cfg"]) == (
        "euler", "simple", 20, 1.0,
    )  # fmt: skip
    assert only(g, "EmptySD3LatentImage")["width"] == 1024
    assert only(g, "FluxGuidance")["guidance"] == 3.5


def test_explicit_pieces_family_and_guidance(info_file: Path) -> None:
    g = graph_of("--checkpoint", "mystery_model.safetensors", "--arch", "flux-dev",
                 "--text-encoder", "clip_l.safetensors", "--text-encoder", "t5xxl_fp16.safetensors",
                 "--vae", "ae.safetensors", "--guidance", "2.2", "--steps", "8",
                 "--object-info", str(info_file))  # fmt: skip
    assert only(g, "UNETLoader")["unet_name"] == "mystery_model.safetensors"
    assert only(g, "FluxGuidance")["guidance"] == 2.2
    assert only(g, "KSampler")["steps"] == 8


def test_edit_with_references(info_file: Path, images: dict[str, Path]) -> None:
    g = graph_of("--model", "qwen_image_edit_2509_fp8_e4m3fn.safetensors", "--edit",
                 "--prompt", "make the sky stormy", "--image", str(images["canvas"]),
                 "--reference", str(images["ref1"]), "--reference", str(images["ref2"]),
                 "--object-info", str(info_file))  # fmt: skip
    encode = [n["inputs"] for n in g.values() if n["class_type"] == "TextEncodeQwenImageEditPlus"]
    assert len(encode) == 2 and "image3" in encode[0]
    masked = graph_of("--model", "flux1-kontext-dev.safetensors", "--edit", "--prompt", "x",
                      "--image", str(images["canvas"]), "--mask", str(images["mask"]),
                      "--object-info", str(info_file))  # fmt: skip
    assert "ReferenceLatent" in classes(masked) and "JoinImageWithAlpha" in classes(masked)


def test_painter_errors_are_one_line(info_file: Path, images: dict[str, Path]) -> None:
    old = info_file.parent / "object_info_080.json"
    old.write_text(json.dumps(family_object_info("0.8.0")))
    krea = cli("workflow", "--model", "krea2_bf16.safetensors", "--object-info", str(old))
    said = "Krea 2 needs ComfyUI 0.26.0 or newer: this server's ComfyUI does not offer the text"
    assert krea.returncode != 0 and said in krea.stderr
    assert "Traceback" not in krea.stderr
    refs = cli("workflow", "--model", "flux1-kontext-dev.safetensors",
               "--image", str(images["canvas"]), "--reference", str(images["ref1"]))  # fmt: skip
    assert refs.returncode != 0 and "add --edit" in refs.stderr
    not_edit = cli("workflow", "--model", "flux1-dev.safetensors", "--edit",
                   "--image", str(images["canvas"]), "--object-info", str(info_file))  # fmt: skip
    assert not_edit.returncode != 0 and "not an instruction-editing model" in not_edit.stderr


def test_workflow_resolves_against_a_live_server(family_server: str) -> None:  # noqa: F811
    g = graph_of("--model", "z_image_turbo_bf16.safetensors", "--server", family_server)
    assert only(g, "CLIPLoader") == {"clip_name": "qwen_3_4b.safetensors", "type": "lumina2"}
    assert only(g, "KSampler")["sampler_name"] == "res_multistep"
