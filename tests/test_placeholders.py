"""scripts/placeholders.py: zero-byte files with the family table's names, in the folders
ComfyUI lists them from; removal deletes only zero-byte files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.family_fixtures import PLACEHOLDERS
from tests.test_cli_models import ROOT

SCRIPT = ROOT / "scripts" / "placeholders.py"


def placeholders(models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--models", str(models), *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip


def listed(models: Path) -> dict[str, set[str]]:
    return {
        folder.name: {f.name for f in folder.iterdir()}
        for folder in models.iterdir()
        if folder.is_dir()
    }


def test_writes_the_tables_names_and_removes_only_its_own(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    real = tmp_path / "checkpoints" / "random-sd15-tiny.safetensors"
    real.write_bytes(b"weights")
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "ae.safetensors").write_bytes(b"a real VAE")
    assert placeholders(tmp_path).returncode == 0
    found = listed(tmp_path)
    for folder, names in PLACEHOLDERS.items():
        assert set(names) <= found[folder], folder
    assert not set(found["diffusion_models"]) - set(PLACEHOLDERS["diffusion_models"])
    # checkpoints/ gets only the single-file families (SD 3.5); SD1.5/SDXL stay real ones.
    assert found["checkpoints"] == {real.name, *PLACEHOLDERS["checkpoints"]}
    assert "pixel_space" not in found["vae"]  # ComfyUI's own entry, not a file
    assert "placeholder-flux2-klein-4b-lora.safetensors" in found["loras"]
    assert "Z-Image-Turbo-Fun-Controlnet-Union.safetensors" in found["model_patches"]
    assert (tmp_path / "vae" / "ae.safetensors").read_bytes() == b"a real VAE"
    assert placeholders(tmp_path, "--remove").returncode == 0
    assert listed(tmp_path) == {
        "checkpoints": {real.name}, "vae": {"ae.safetensors"}, "diffusion_models": set(),
        "text_encoders": set(), "loras": set(), "model_patches": set(),
    }  # fmt: skip


def test_needs_an_existing_folder(tmp_path: Path) -> None:
    result = placeholders(tmp_path / "nowhere")
    assert result.returncode != 0 and "is not a folder" in result.stderr
