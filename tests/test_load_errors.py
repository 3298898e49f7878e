"""A model file the server cannot load reaches the painter naming the file and its folder
(the shape is the real execution_error of a zero-byte placeholder on ComfyUI 0.8.0: the first
loader fails with SafetensorError "header too small")."""

from __future__ import annotations

from ai_diffusion.comfy.jobs import _failure


def error(node_type: str, inputs: dict) -> dict:
    return {
        "prompt_id": "p1", "node_id": "1", "node_type": node_type,
        "exception_message": "Error while deserializing header: header too small\n",
        "exception_type": "safetensors_rust.SafetensorError", "current_inputs": inputs,
    }  # fmt: skip


def test_a_placeholder_diffusion_model_is_named_with_its_folder() -> None:
    failed = _failure("p1", error("UNETLoader", {"unet_name": ["flux1-dev.safetensors"],
                                                 "weight_dtype": ["default"]}))  # fmt: skip
    assert failed.message == (
        "The server could not load 'flux1-dev.safetensors' (models/diffusion_models): Error "
        "while deserializing header: header too small. The file is damaged, incomplete or not "
        "a model this ComfyUI can load: download it again on the server, or choose another model."
    )


def test_dual_text_encoders_name_both_files() -> None:
    failed = _failure("p1", error("DualCLIPLoader", {"clip_name1": ["clip_l.safetensors"],
                                                     "clip_name2": ["t5xxl_fp16.safetensors"],
                                                     "type": ["flux"]}))  # fmt: skip
    assert (
        "'clip_l.safetensors' or 't5xxl_fp16.safetensors' (models/text_encoders)" in failed.message
    )


def test_other_nodes_keep_the_general_message() -> None:
    failed = _failure("p1", error("KSampler", {"steps": [4]}))
    assert failed.message.startswith("Generation failed on the server in KSampler:")
