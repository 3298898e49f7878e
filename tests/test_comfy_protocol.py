"""Protocol details against the recorded real ComfyUI servers (0.8.0 and 0.33.0): refusal
sentences from their real error bodies, binary preview frames, and no credentials in any error
text."""

from __future__ import annotations

import json
import struct

import pytest

from ai_diffusion.comfy import ConnectionFailure, ServerConfig, normalize_url
from ai_diffusion.comfy.messages import parse_binary, parse_text
from ai_diffusion.comfy.rejection import rejection
from tests.captures import VERSIONS, capture

ALL = pytest.mark.parametrize("version", VERSIONS)


def refused(case: str, version: str) -> str:
    answer = capture(version).errors[case]
    body = answer["body"]
    text = body if isinstance(body, str) else json.dumps(body)
    return rejection(text, answer["status"]).message


@ALL
def test_missing_checkpoint_names_it_the_valid_ones_and_the_folder(version: str) -> None:
    message = refused("err_missing_checkpoint", version)
    assert "no model named 'nope.safetensors'" in message
    assert "'random-sd15-tiny.safetensors', 'random-sd15.safetensors'" in message
    assert "models/checkpoints" in message


@ALL
def test_several_invalid_inputs_each_get_a_sentence(version: str) -> None:
    message = refused("err_invalid_inputs", version)
    assert "'steps' setting cannot be 'many'" in message
    assert "missing its 'cfg' input" in message
    # A long list is not sent by ComfyUI ("(list of length 44)"): no names, still clear.
    assert "no sampler named 'no_such_sampler'" in message


@ALL
def test_unknown_node_class(version: str) -> None:
    assert "The server has no node 'NoSuchNode'" in refused("err_unknown_node_class", version)


@pytest.mark.parametrize(
    "case", ["err_type_mismatch_link", "err_link_to_missing_node", "err_no_output_node"]
)
@ALL
def test_broken_graphs_are_reported_as_plugin_bugs(case: str, version: str) -> None:
    assert "bug in the plugin" in refused(case, version)


@ALL
def test_malformed_json_answer_500_text(version: str) -> None:
    message = refused("err_malformed_json", version)
    assert "could not accept the job (500)" in message


def test_legacy_preview_frame_event_1() -> None:
    jpeg = b"\xff\xd8\xff\xe0jpeg"
    preview = parse_binary(struct.pack(">II", 1, 1) + jpeg)
    assert preview is not None
    assert (preview.image, preview.format, preview.prompt_id) == (jpeg, "jpeg", None)
    png = parse_binary(struct.pack(">II", 1, 2) + b"\x89PNG")
    assert png is not None and png.format == "png"


def test_preview_frame_with_metadata_names_its_job() -> None:
    meta = json.dumps({"node_id": "5", "prompt_id": "p-1", "image_type": "image/png"}).encode()
    frame = struct.pack(">II", 4, len(meta)) + meta + b"\x89PNGdata"
    preview = parse_binary(frame)
    assert preview is not None
    assert (preview.image, preview.format, preview.prompt_id) == (b"\x89PNGdata", "png", "p-1")


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x00\x00\x00\x01", struct.pack(">II", 4, 999) + b"{}", struct.pack(">II", 3, 1)],
)
def test_truncated_or_other_binary_frames_are_ignored(frame: bytes) -> None:
    assert parse_binary(frame) is None


@ALL
def test_every_captured_text_message_parses(version: str) -> None:
    types = set()
    for record in capture(version).transcript:
        if record.get("kind") == "text":
            message = parse_text(json.dumps({"type": record["type"], "data": record["data"]}))
            assert message is not None
            types.add(message.type)
    assert {"execution_start", "executing", "progress", "executed", "execution_success"} <= types


@pytest.mark.parametrize(
    "pasted",
    ["https://painter:hunter2secret@example.com:99999/", "http://painter:hunter2secret@[::1"],
)
def test_passwords_in_pasted_urls_never_reach_the_message(pasted: str) -> None:
    with pytest.raises(ConnectionFailure) as error:
        normalize_url(pasted)
    assert "hunter2secret" not in error.value.message
    assert "hunter2secret" not in repr(error.value)


def test_secrets_are_not_in_the_config_repr() -> None:
    config = ServerConfig(
        "https://pod.example.com", token="tok-abcdef", headers={"X-Key": "k-123456"}
    ).normalized()
    assert "tok-abcdef" not in repr(config) and "k-123456" not in repr(config)
    from ai_diffusion.logs import redact

    assert redact("token tok-abcdef key k-123456") == "token *** key ***"
