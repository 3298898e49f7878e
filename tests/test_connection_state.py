"""The connection state object: one place that cleans a pasted address, keeps the login out of
the address and of settings.json, and builds what the controller connects with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_diffusion.backends.runpod_serverless import RunPodServerlessConfig
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.errors import UserError
from ai_diffusion.secrets import SecretStore
from ai_diffusion.settings import Settings
from ai_diffusion.state.connection import Connection, clean_address


class MemoryKeyring:
    """A system password store stand-in (persistent), as strict as keyring's API."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        return self.values.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        self.values[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        del self.values[(service, name)]


@pytest.mark.parametrize(
    ("pasted", "address", "user", "password"),
    [
        ("  localhost:8188/ ", "http://localhost:8188", None, None),
        ("abc123-8188.proxy.runpod.net", "https://abc123-8188.proxy.runpod.net", None, None),
        ("'https://me:p%40ss@pod.example/comfy/'", "https://pod.example/comfy", "me", "p@ss"),
        ("https://me:secret@pod.example:99999", "https://pod.example:99999", "me", "secret"),
        ("", "", None, None),
    ],
)
def test_a_pasted_address_is_cleaned_and_its_login_split_off(
    pasted, address, user, password
) -> None:
    assert clean_address(pasted) == (address, user, password)


def test_the_login_never_reaches_the_file_and_comes_back_from_the_store(
    qapp, tmp_path: Path
) -> None:
    secrets = SecretStore(MemoryKeyring())
    connection = Connection(Settings(), secrets, tmp_path)
    connection.set_address("https://painter:hunter2-pass@pod.example:8443")
    connection.save()
    text = (tmp_path / "settings.json").read_text()
    assert "hunter2" not in text
    assert json.loads(text)["server_url"] == "https://pod.example:8443"
    again = Connection(Settings.load(tmp_path), secrets, tmp_path)
    config = again.config()
    assert isinstance(config, ServerConfig)
    assert (config.url, config.username, config.password) == (
        "https://pod.example:8443",
        "painter",
        "hunter2-pass",
    )


def test_session_only_forgets_what_an_earlier_session_stored(qapp, tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    connection = Connection(Settings(), SecretStore(keyring), tmp_path)
    connection.set_token("tok-1234567")
    connection.save()
    assert ("ai_diffusion", "server_token") in keyring.values
    connection.set_session_only(True)
    connection.save()
    assert keyring.values == {} and connection.token == "tok-1234567"  # used, not kept
    assert json.loads((tmp_path / "settings.json").read_text())["session_only_secrets"]


def test_what_is_missing_is_said_before_connecting(qapp) -> None:
    connection = Connection(Settings(), SecretStore(use_system=False))
    with pytest.raises(UserError, match="address"):
        connection.config()
    connection.kind = "runpod-serverless"
    with pytest.raises(UserError, match="endpoint"):
        connection.config()
    connection.endpoint = "4m7x2k9q1abcde"
    connection.api_key = "rp-key-123456"
    config = connection.config()
    assert isinstance(config, RunPodServerlessConfig) and config.endpoint_id == "4m7x2k9q1abcde"


def test_a_pod_is_named_until_another_address_is_typed(qapp) -> None:
    connection = Connection(Settings(), SecretStore(use_system=False))
    connection.use_pod("https://pod-8188.proxy.runpod.net", "pod-token-5678", "RunPod RTX 4090")
    assert (connection.pod, connection.auth_kind, connection.token) == (
        "RunPod RTX 4090",
        "token",
        "pod-token-5678",
    )
    connection.type_address("https://pod-8188.proxy.runpod.net ")
    assert connection.pod == "RunPod RTX 4090"
    connection.type_address("127.0.0.1:8188")
    assert connection.pod == ""
