"""Settings: one typed object as JSON in the folder the plugin passes in; never secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ai_diffusion.settings import FILE_NAME, Settings


def test_round_trip_remembers_the_last_server_and_defaults(tmp_path: Path) -> None:
    settings = Settings(
        server_url="https://abc-8188.proxy.runpod.net",
        verify_tls=False,
        auth_kind="token",
        checkpoint="sdxl.safetensors",
        batch_size=3,
        idle_stop_minutes=15,
    )
    settings.save(tmp_path / "ai_diffusion")
    assert Settings.load(tmp_path / "ai_diffusion") == settings


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert Settings.load(tmp_path) == Settings()
    assert not (tmp_path / FILE_NAME).exists()


def test_corrupt_file_gives_defaults_a_warning_and_a_backup(tmp_path: Path, caplog) -> None:
    (tmp_path / FILE_NAME).write_text('{"server_url": "http://x", ', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ai_diffusion"):
        assert Settings.load(tmp_path) == Settings()
    assert (tmp_path / "settings.json.bak").read_text() == '{"server_url": "http://x", '
    assert "settings" in caplog.text and ".bak" in caplog.text
    (tmp_path / FILE_NAME).write_text("[1, 2]", encoding="utf-8")
    assert Settings.load(tmp_path) == Settings()


def test_unknown_keys_and_wrong_types_are_ignored(tmp_path: Path) -> None:
    data = {"server_url": "http://x", "batch_size": "many", "from_a_newer_version": 1}
    (tmp_path / FILE_NAME).write_text(json.dumps(data), encoding="utf-8")
    loaded = Settings.load(tmp_path)
    assert (loaded.server_url, loaded.batch_size) == ("http://x", 1)


def test_an_older_file_with_sampling_values_loads_and_drops_them(tmp_path: Path) -> None:
    # Versions before the family table was the one source of sampling defaults kept steps,
    # CFG, sampler and scheduler here. Such a file still loads with everything else in it;
    # the sampling values are not used (the model family's defaults are) and the next save
    # leaves them out.
    old = {
        "server_url": "https://abc-8188.proxy.runpod.net",
        "checkpoint": "sd_xl_base_1.0.safetensors",
        "negative_prompt": "blurry",
        "steps": 30,
        "cfg": 5.5,
        "sampler": "dpmpp_2m",
        "scheduler": "karras",
        "batch_size": 2,
    }
    (tmp_path / FILE_NAME).write_text(json.dumps(old), encoding="utf-8")
    loaded = Settings.load(tmp_path)
    assert (loaded.server_url, loaded.checkpoint, loaded.negative_prompt, loaded.batch_size) == (
        "https://abc-8188.proxy.runpod.net",
        "sd_xl_base_1.0.safetensors",
        "blurry",
        2,
    )
    assert not {"steps", "cfg", "sampler", "scheduler"} & set(vars(loaded))
    loaded.save(tmp_path)
    saved = json.loads((tmp_path / FILE_NAME).read_text(encoding="utf-8"))
    assert not {"steps", "cfg", "sampler", "scheduler"} & set(saved)
    assert saved["checkpoint"] == "sd_xl_base_1.0.safetensors"


def test_the_settings_object_has_no_place_for_secrets() -> None:
    names = set(vars(Settings()))
    assert not names & {"token", "password", "api_key", "key", "secret"}


def test_a_password_in_the_address_is_never_written(tmp_path: Path) -> None:
    Settings(server_url="https://painter:s3cret@pod.example:8188/x").save(tmp_path)
    text = (tmp_path / "settings.json").read_bytes()
    assert b"s3cret" not in text and b"painter" not in text
    assert Settings.load(tmp_path).server_url == "https://pod.example:8188/x"


def test_the_first_save_creates_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "krita" / "ai_diffusion"  # neither exists before the first run
    Settings(server_url="http://x").save(folder)
    assert Settings.load(folder).server_url == "http://x"


def test_a_backup_that_cannot_be_written_is_logged(tmp_path: Path, caplog, monkeypatch) -> None:
    import shutil

    def refuse(*args: object) -> None:
        raise OSError("read-only folder")

    (tmp_path / FILE_NAME).write_text("{broken", encoding="utf-8")
    monkeypatch.setattr(shutil, "copyfile", refuse)
    with caplog.at_level(logging.WARNING, logger="ai_diffusion"):
        assert Settings.load(tmp_path) == Settings()
    assert "could not keep a copy of the settings file: read-only folder" in caplog.text
