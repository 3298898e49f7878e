"""Model discovery: every checkpoint and diffusion model of a server with its family, kind,
the pieces found for it, and, for incomplete ones, the exact missing piece and its folder."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ai_diffusion.comfy.models import ServerModels
from ai_diffusion.request import ModelKind
from ai_diffusion.workflow.discovery import (
    UNKNOWN_FAMILY,
    ModelEntry,
    Override,
    ServerFiles,
    discover_models,
)
from tests.comfy_fixtures import object_info
from tests.family_fixtures import family_object_info, with_models
from tests.test_cli_models import ROOT, cli

INFO = family_object_info()
FILES = ServerFiles.from_object_info(INFO)


def entries(files: ServerFiles = FILES, **overrides: Override) -> dict[str, ModelEntry]:
    return {e.name: e for e in discover_models(files, overrides)}


def test_split_models_get_their_pieces_from_the_family_rules() -> None:
    found = entries()
    flux = found["flux1-dev.safetensors"]
    assert (flux.family and flux.family.id, flux.kind, flux.ready) == (
        "flux-dev",
        ModelKind.split,
        True,
    )
    assert flux.pieces.files() == {
        "model": "flux1-dev.safetensors",
        "text_encoders": ["clip_l.safetensors", "t5xxl_fp16.safetensors"],
        "vae": "ae.safetensors",
    }
    qwen = found["qwen_image_edit_2509_fp8_e4m3fn.safetensors"]
    assert qwen.title == "Qwen-Image Edit 2509/2511"
    assert qwen.pieces.text_encoders == ("qwen_2.5_vl_7b_fp8_scaled.safetensors",)
    assert qwen.pieces.vae == "qwen_image_vae.safetensors"
    z = found["z_image_turbo_bf16.safetensors"]
    assert z.pieces.text_encoders == ("qwen_3_4b.safetensors",) and z.pieces.vae == "ae.safetensors"
    flux2 = found["flux2_dev_fp8mixed.safetensors"]
    assert flux2.pieces.vae == "flux2-vae.safetensors" and flux2.ready
    assert found["Chroma1-HD.safetensors"].pieces.text_encoders == ("t5xxl_fp16.safetensors",)


def test_checkpoints_hold_their_pieces_except_sd35() -> None:
    found = entries()
    xl = found["sd_xl_base_1.0.safetensors"]
    assert xl.kind is ModelKind.checkpoint and xl.ready and xl.pieces.text_encoders == ()
    flux_ckpt = found["flux1-dev-fp8.safetensors"]
    assert flux_ckpt.kind is ModelKind.checkpoint and flux_ckpt.ready
    sd35 = found["sd3.5_large.safetensors"]
    assert sd35.pieces.text_encoders == (
        "clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors",
    )  # fmt: skip
    assert found["sd3.5_medium_incl_clips_t5xxlfp8scaled.safetensors"].pieces.text_encoders == ()
    assert found["random-sd15-tiny.safetensors"].title == "Stable Diffusion 1.5"


def test_a_missing_piece_is_named_with_its_folder() -> None:
    without_t5 = ServerFiles(
        FILES.checkpoints, FILES.diffusion_models,
        [t for t in FILES.text_encoders if "t5xxl" not in t], FILES.vaes,
    )  # fmt: skip
    flux = entries(without_t5)["flux1-dev.safetensors"]
    assert not flux.ready
    assert flux.missing == (
        "needs a T5-XXL text encoder in models/text_encoders, e.g. t5xxl_fp16.safetensors",
    )
    no_vae = ServerFiles(FILES.checkpoints, FILES.diffusion_models, FILES.text_encoders, [])
    qwen = entries(no_vae)["qwen_image_fp8_e4m3fn.safetensors"]
    assert qwen.missing == (
        "needs a Qwen-Image VAE in models/vae, e.g. qwen_image_vae.safetensors",
    )
    # Incomplete models come after the ready ones.
    ordered = discover_models(without_t5)
    assert [e.ready for e in ordered] == sorted((e.ready for e in ordered), reverse=True)


def test_newer_families_and_unknown_models_are_listed_but_not_ready() -> None:
    found = entries()
    assert found["flux-2-klein-4b.safetensors"].ready  # nothing says the server is older
    old = ServerFiles.from_object_info(family_object_info("0.8.0"), (0, 8, 0))
    klein = entries(old)["flux-2-klein-4b.safetensors"]
    assert not klein.ready and klein.pieces.refused
    assert klein.missing == (
        "Flux.2 Klein 4B needs ComfyUI 0.9.2 or newer; this server runs ComfyUI 0.8.0. "
        "Update ComfyUI on the server (or rent a pod with a current image).",
    )
    assert entries(old)["flux2_dev_fp8mixed.safetensors"].ready
    mystery = found["mystery_model.safetensors"]
    assert mystery.family is None and mystery.missing == (UNKNOWN_FAMILY,)


def test_the_painters_overrides_win() -> None:
    found = entries(
        **{
            "mystery_model.safetensors": Override(family="chroma"),
            "flux1-dev.safetensors": Override(vae="qwen_image_vae.safetensors"),
        }
    )
    mystery = found["mystery_model.safetensors"]
    assert mystery.ready and mystery.title == "Chroma" and not mystery.detected
    assert found["flux1-dev.safetensors"].pieces.vae == "qwen_image_vae.safetensors"


def test_older_servers_list_text_encoders_from_models_clip_too() -> None:
    # ComfyUI lists models/clip and models/text_encoders together in CLIPLoader's options.
    info = with_models(object_info(), {"diffusion_models": ["z_image_turbo_bf16.safetensors"],
                                       "text_encoders": ["clip/qwen_3_4b.safetensors"],
                                       "vae": ["ae.safetensors"]})  # fmt: skip
    models = ServerModels.parse(info, [], {})
    (z,) = [e for e in models.usable_models() if e.name.startswith("z_image")]
    assert z.ready and z.pieces.text_encoders == ("clip/qwen_3_4b.safetensors",)


def test_models_json_lists_usable_models() -> None:
    data = ServerModels.parse(INFO, [], {}).to_json()
    by_name = {m["name"]: m for m in data["models"]}
    flux = by_name["flux1-dev.safetensors"]
    assert flux == {
        "name": "flux1-dev.safetensors", "family": "flux-dev", "family_title": "Flux.1 dev",
        "kind": "split", "ready": True, "missing": [],
        "files": {"model": "flux1-dev.safetensors",
                  "text_encoders": ["clip_l.safetensors", "t5xxl_fp16.safetensors"],
                  "vae": "ae.safetensors"},
    }  # fmt: skip
    assert "t5xxl_fp16.safetensors" in data["text_encoders"]
    json.dumps(data)


@pytest.fixture(scope="module")
def family_server() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.comfy_server", "--port", "0", "--family-models"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "http://127.0.0.1:" in line, line
    yield line.split()[-1]
    proc.kill()
    proc.wait(10)


def test_cli_models_json_and_human_output(family_server: str) -> None:
    result = cli("models", "--server", family_server, "--json")
    assert result.returncode == 0, result.stderr
    models = {m["name"]: m for m in json.loads(result.stdout)["models"]}
    assert models["z_image_turbo_bf16.safetensors"]["family"] == "z-image-turbo"
    assert models["flux-2-klein-4b.safetensors"]["ready"] is True  # the fake runs 0.33.0
    human = cli("models", "--server", family_server)
    assert "  flux1-dev.safetensors  [Flux.1 dev, split]  ready" in human.stdout.splitlines()
    assert (
        "mystery_model.safetensors  [unknown family, split]  incomplete: unknown model family"
        in human.stdout
    )
