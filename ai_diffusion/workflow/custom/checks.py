"""Before queueing: does the server have every node type and model file the graph uses?"""

from __future__ import annotations

from typing import Any

from ..object_info import ObjectInfo, combo_options, input_spec
from .problems import MissingModels, MissingNodes

# Inputs that name a model file, and the folder under models/ it is looked for in.
MODEL_INPUTS = {
    "ckpt_name": "checkpoints",
    "lora_name": "loras",
    "unet_name": "diffusion_models",
    "vae_name": "vae",
    "clip_name": "text_encoders",
    "clip_name1": "text_encoders",
    "clip_name2": "text_encoders",
    "clip_name3": "text_encoders",
    "control_net_name": "controlnet",
    "model_name": "upscale_models",
    "style_model_name": "style_models",
    "gligen_name": "gligen",
    "hypernetwork_name": "hypernetworks",
}
# Loaders whose file lies elsewhere than the input's name says.
LOADER_FOLDERS = {
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("unCLIPCheckpointLoader", "ckpt_name"): "checkpoints",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("DiffControlNetLoader", "control_net_name"): "controlnet",
    ("PhotoMakerLoader", "photomaker_model_name"): "photomaker",
}


def check_graph(graph: dict[str, Any], info: ObjectInfo) -> None:
    """Raise :class:`MissingNodes` (first) or :class:`MissingModels` for what the server lacks."""
    missing_nodes = [
        str(node.get("class_type"))
        for node in graph.values()
        if isinstance(node, dict) and node.get("class_type") not in info
    ]
    if missing_nodes:
        raise MissingNodes(missing_nodes)
    missing: list[tuple[str, str]] = []
    for node in graph.values():
        class_type = node["class_type"]
        for name, value in (node.get("inputs") or {}).items():
            folder = LOADER_FOLDERS.get((class_type, name)) or MODEL_INPUTS.get(name)
            if folder is None or not isinstance(value, str):
                continue
            spec = input_spec(info, class_type, name)
            options = combo_options(spec) if spec else None
            if options is not None and value not in options:
                missing.append((value, folder))
    if missing:
        raise MissingModels(missing)
