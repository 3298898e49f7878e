"""Whether a server's ComfyUI can run a family: the version its ``/system_stats`` reports
against the family's first release, and its node classes and text-encoder types (from its
``/object_info``) against the ones the family's graph uses. Every message is computed from
those two: the family's data and what the server says about itself."""

from __future__ import annotations

from .families import Edit, Family
from .object_info import ObjectInfo, choices

UPDATE = "Update ComfyUI on the server (or rent a pod with a current image)."
TEXT_ENCODER_LOADERS = {1: "CLIPLoader", 2: "DualCLIPLoader"}  # the loaders with a "type"
EDIT_NODES = {
    Edit.kontext: ("ReferenceLatent", "FluxKontextImageScale"),
    Edit.qwen: ("TextEncodeQwenImageEdit",),
    Edit.qwen_plus: ("TextEncodeQwenImageEditPlus",),
    Edit.reference: ("ReferenceLatent", "ImageScaleToTotalPixels"),
}


def version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def nodes_used(family: Family) -> tuple[str, ...]:
    """The node classes particular to the family's graphs (the common ones every ComfyUI has
    are left out: a server without them is caught by the graph's validation)."""
    used = [family.latent, *family.nodes, *EDIT_NODES.get(family.edit, ())]
    if family.sigmas:
        used += [family.sigmas, "SamplerCustomAdvanced"]
    if family.model_sampling:
        used.append(family.model_sampling[0])
    if len(family.text_encoders) == 4:
        used.append("QuadrupleCLIPLoader")
    return tuple(dict.fromkeys(used))


def server_refusal(
    family: Family,
    object_info: ObjectInfo | None,
    version: tuple[int, ...] | None,
    text_encoders: bool = True,
) -> str:
    """Why this server cannot run ``family``, in the painter's words; "" when it can (or
    cannot tell: a server that hides its version is judged by its nodes alone).
    ``text_encoders``: the model loads its text encoders by the family's type."""
    needed = family.min_version
    if needed and version is not None and version < needed:
        return (
            f"{family.title} needs ComfyUI {version_text(needed)} or newer; this server runs "
            f"ComfyUI {version_text(version)}. {UPDATE}"
        )
    if not object_info:
        return ""
    if needed:
        intro = f"{family.title} needs ComfyUI {version_text(needed)} or newer"
    else:
        intro = f"{family.title} cannot run on this server"
    for node in nodes_used(family):
        if node not in object_info:
            return f"{intro}: this server's ComfyUI has no node {node}. {UPDATE}"
    loader = TEXT_ENCODER_LOADERS.get(len(family.text_encoders))
    if text_encoders and family.clip_type and loader is not None and loader in object_info:
        types = choices(object_info, loader, "type")
        if types and family.clip_type not in types:
            return (
                f"{intro}: this server's ComfyUI does not offer the text encoder type "
                f"'{family.clip_type}'. {UPDATE}"
            )
    return ""
