"""One plain sentence from the error body ComfyUI sends when it refuses a job."""

from __future__ import annotations

import json
from typing import Any

from .errors import ServerRejected


def rejection(body: str, status: int) -> ServerRejected:
    """One sentence from a /prompt error body (HTTP 400 with node_errors, or a 500)."""
    try:
        data = json.loads(body)
    except ValueError:
        return ServerRejected(
            f"The server could not accept the job ({status}). Try again; if it persists, "
            "restart ComfyUI.",
            details=body[:300],
        )
    if not isinstance(data, dict):
        data = {"error": {"message": str(data)[:200]}}
    error = data.get("error") or {}
    if not isinstance(error, dict):
        error = {"message": str(error)[:200]}
    node_errors = data.get("node_errors") or {}
    if not isinstance(node_errors, dict):
        node_errors = {}
    sentences = []
    first_node = None
    for node_id, entry in node_errors.items():
        if not isinstance(entry, dict):
            continue
        first_node = first_node or node_id
        class_type = str(entry.get("class_type", ""))
        errors = entry.get("errors", [])
        for e in errors if isinstance(errors, list) else []:
            if isinstance(e, dict):
                sentences.append(_node_error_sentence(class_type, e))
    if not sentences:
        message = " ".join(str(error.get("message", "the job was refused")).split())
        node = _missing_node(error, message)
        if node:
            sentences.append(
                f"The server has no node '{node}'. Update ComfyUI, or install the extension "
                "that provides it."
            )
        elif error.get("type") in ("prompt_no_outputs", "no_prompt"):
            sentences.append(
                f"The server found nothing to run in the job ({message}). This is a bug in the "
                "plugin: please report it with the log file."
            )
        else:
            sentences.append(f"The server refused the job: {message}.")
    text = " ".join(" ".join(s.split()) for s in dict.fromkeys(sentences[:3]))
    return ServerRejected(text, node=first_node, details=json.dumps(node_errors)[:2000])


def _missing_node(error: dict[str, Any], message: str) -> str:
    """The node class a server lacks: ``missing_node_type`` with its class in ``extra_info``
    (2026 releases), or ``invalid_prompt`` "Cannot execute because node X does not exist."
    (older ones)."""
    info = error.get("extra_info")
    if error.get("type") == "missing_node_type" and isinstance(info, dict):
        if isinstance(info.get("class_type"), str) and info["class_type"]:
            return info["class_type"]
    if error.get("type") == "invalid_prompt" and "does not exist" in message:
        return message.split("node ")[-1].split(" does not exist")[0]
    return ""


MODEL_INPUTS = {
    "ckpt_name": ("model", "checkpoints"),
    "unet_name": ("diffusion model", "diffusion_models"),
    "lora_name": ("LoRA", "loras"),
    "vae_name": ("VAE", "vae"),
    "control_net_name": ("ControlNet model", "controlnet"),
    "model_name": ("upscale model", "upscale_models"),
}
SETTING_INPUTS = {"sampler_name": "sampler", "scheduler": "scheduler"}


def _node_error_sentence(class_type: str, e: dict[str, Any]) -> str:
    info = e.get("extra_info") or {}
    if not isinstance(info, dict):
        info = {}
    name = str(info.get("input_name", ""))
    value = info.get("received_value")
    kind = e.get("type")
    if kind == "value_not_in_list":
        valid = _valid_names(info.get("input_config"))
        if name in MODEL_INPUTS:
            what, folder = MODEL_INPUTS[name]
            return (
                f"The server has no {what} named '{value}'.{valid} Choose one it has (refresh "
                f"the model list), or copy the file into the server's models/{folder} folder."
            )
        what = SETTING_INPUTS.get(name, f"'{name}' option")
        return f"The server has no {what} named '{value}'.{valid} Choose another one."
    if kind == "required_input_missing":
        return f"The {class_type} node is missing its '{name}' input."
    if kind == "custom_validation_failed" and class_type.startswith("LoadImage"):
        return "An input image did not reach the server. Generate again to upload it."
    if kind in ("invalid_input_type", "value_smaller_than_min", "value_bigger_than_max"):
        return f"The {class_type} node's '{name}' setting cannot be '{value}' on this server."
    if kind in ("return_type_mismatch", "exception_during_inner_validation"):
        return (
            f"The job sent to the server is broken at its {class_type} node ('{name}' input). "
            "This is a bug in the plugin: please report it with the log file."
        )
    details = e.get("details") or e.get("message", "")
    return f"{class_type}: {e.get('message', 'invalid input')} ({details})."


def _valid_names(input_config: Any, shown: int = 5) -> str:
    """' It has: a, b.' from a combo's input_config (ComfyUI sends None for long lists)."""
    if not isinstance(input_config, list) or not input_config:
        return ""
    options = input_config[0]
    if not isinstance(options, list) or not options:
        return ""
    names = ", ".join(f"'{o}'" for o in options[:shown])
    more = f" and {len(options) - shown} more" if len(options) > shown else ""
    return f" It has {names}{more}."
