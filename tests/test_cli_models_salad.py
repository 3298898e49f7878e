"""``models add --backend salad``: a SaladCloud comfyui-api group downloads a link itself (its
``POST /models``), from the CLI as a separate process against the fake group; a file from this
computer is refused in words; the key is never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.backend_fixtures import served_in_thread
from tests.fakes.salad_server import FakeSaladGroup

ROOT = Path(__file__).resolve().parent.parent
LINK = "https://huggingface.co/someone/styles/resolve/main/ink-style.safetensors"
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    return subprocess.run(
        [sys.executable, "-m", "ai_diffusion", *args],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**clean, **NO_KEYRING, **(env or {})},
    )  # fmt: skip


def test_a_link_lands_in_the_folder_on_a_replica(tmp_path: Path) -> None:
    fake = FakeSaladGroup()
    key = fake.api_key or ""
    with served_in_thread(fake.app()) as url:
        after = cli(
            "models", "add", LINK, "--folder", "loras", "--backend", "salad", "--server", url,
            env={"SALAD_API_KEY": key},
        )  # fmt: skip
        # The command's own options work too (before the action), with the key as --token.
        before = cli(
            "models", "--backend", "salad", "--server", url, "--token", key,
            "add", LINK.replace("ink", "pen"), "--name", "pen-lora.safetensors",
        )  # fmt: skip
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines() == ["loras/ink-style.safetensors: done"]
    assert "Only the replica that answered has it" in after.stderr
    assert before.returncode == 0, before.stderr  # the folder from the name
    assert before.stdout.splitlines() == ["loras/pen-lora.safetensors: done"]
    sent = [(link, folder, name) for _, link, folder, name in fake.downloads]
    assert sent == [
        (LINK, "loras", "ink-style.safetensors"),
        (LINK.replace("ink", "pen"), "loras", "pen-lora.safetensors"),
    ]
    for result in (after, before):
        assert key not in result.stdout + result.stderr


def test_what_salad_cannot_do_is_said_in_words(tmp_path: Path) -> None:
    fake = FakeSaladGroup()
    model = tmp_path / "my-lora.safetensors"
    model.write_bytes(b"x" * 64)
    with served_in_thread(fake.app()) as url:
        upload = cli(
            "models", "upload", str(model), "--backend", "salad", "--server", url,
            env={"SALAD_API_KEY": fake.api_key or ""},
        )  # fmt: skip
        checked = cli(
            "models", "add", LINK, "--folder", "loras", "--sha256", "ab" * 32,
            "--backend", "salad", "--server", url, env={"SALAD_API_KEY": fake.api_key or ""},
        )  # fmt: skip
        no_key = cli(
            "models", "add", LINK, "--folder", "loras", "--backend", "salad", "--server", url
        )
        folder = cli(
            "models", "add", LINK, "--folder", "text_encoders", "--backend", "salad",
            "--server", url, env={"SALAD_API_KEY": fake.api_key or ""},
        )  # fmt: skip
    assert upload.returncode == 1 and "cannot take a model file from this computer" in upload.stderr
    assert "models add LINK --backend salad" in upload.stderr
    assert checked.returncode == 1 and "takes a link and a folder only" in checked.stderr
    assert no_key.returncode == 1 and "Salad API key" in no_key.stderr
    assert folder.returncode == 1 and "not a model folder comfyui-api knows" in folder.stderr
    assert fake.downloads == []
    for result in (upload, checked, no_key, folder):
        assert result.stderr.count("\n") <= 2, result.stderr
