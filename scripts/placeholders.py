"""Zero-byte stand-ins for every model family's files, so a real ComfyUI lists them.

    python scripts/placeholders.py --models /path/to/ComfyUI/models
    python scripts/placeholders.py --models /path/to/ComfyUI/models --remove

The names come from the family table (``ai_diffusion/workflow/family_table.py``): each
family's example model files (in diffusion_models, or in checkpoints for a family that only
comes as one file), the example name of each text encoder and VAE it needs, and one LoRA
named ``placeholder-<family>-lora.safetensors``. A server lists them and validates graphs
that name them (``scripts/check_real_comfy.py``), but cannot load them.

Existing files are never touched; ``--remove`` deletes only zero-byte files of those names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ai_diffusion.request import ModelKind
from ai_diffusion.workflow.discovery import needs_text_encoders
from ai_diffusion.workflow.families import Family, all_families


def lora_name(family: Family) -> str:
    return f"placeholder-{family.id}-lora.safetensors"


def family_files(family: Family) -> list[tuple[str, str]]:
    """(folder, file name) of the placeholders for ``family``; none for a family whose model
    files are usually real checkpoints (SD1.5, SDXL: test servers hold real ones)."""
    if not family.examples:
        return []
    if family.kinds[0] is ModelKind.split:
        folder, kind = "diffusion_models", ModelKind.split
    elif family.kinds == (ModelKind.checkpoint,):
        folder, kind = "checkpoints", ModelKind.checkpoint
    else:
        return []
    files = [(folder, name) for name in family.examples]
    if needs_text_encoders(family, kind, family.examples[0]):
        files += [(piece.folder, piece.example) for piece in family.text_encoders]
    if kind is ModelKind.split and family.vae is not None and not family.vae.builtin:
        files.append((family.vae.folder, family.vae.example))
    files.append(("loras", lora_name(family)))
    files += [("model_patches", name) for name in family.control_examples]
    return files


def all_files() -> list[tuple[str, str]]:
    return list(dict.fromkeys(f for family in all_families() for f in family_files(family)))


def write(models: Path) -> None:
    for folder, name in all_files():
        path = models / folder / name
        if path.exists():
            print(f"kept     {folder}/{name} (exists)")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        print(f"wrote    {folder}/{name}")


def remove(models: Path) -> None:
    for folder, name in all_files():
        path = models / folder / name
        if path.is_file() and path.stat().st_size == 0:
            path.unlink()
            print(f"removed  {folder}/{name}")
        elif path.exists():
            print(f"kept     {folder}/{name} (not a zero-byte placeholder)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True, help="ComfyUI's models folder")
    parser.add_argument("--remove", action="store_true", help="remove the zero-byte files")
    args = parser.parse_args()
    if not args.models.is_dir():
        sys.exit(f"error: {args.models} is not a folder")
    remove(args.models) if args.remove else write(args.models)


if __name__ == "__main__":
    main()
