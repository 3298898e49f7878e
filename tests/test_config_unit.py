"""A pasted address's login: split off, never shown, registered as a secret; the headers sent."""

from __future__ import annotations

import base64

import pytest

from ai_diffusion.comfy import ServerConfig, normalize_url, split_credentials, without_credentials
from ai_diffusion.logs import redact


@pytest.mark.parametrize(
    ("pasted", "address", "user", "password"),
    [
        ("https://painter:pw1@pod.example:8188/x", "https://pod.example:8188/x", "painter", "pw1"),
        (" http://me:p%40ss%3Aw@10.0.0.2:8188 ", "http://10.0.0.2:8188", "me", "p@ss:w"),
        ("https://u:p@ss@host/a@b", "https://host/a@b", "u", "p@ss"),  # the last @ ends it
        ("user@pod.example", "pod.example", "user", None),
        ("https://user:@pod.example", "https://pod.example", "user", None),
        ("https://:token-only@pod.example", "https://pod.example", None, "token-only"),
        ("https://pod.example/a@b", "https://pod.example/a@b", None, None),  # @ in the path
        ("127.0.0.1:8188", "127.0.0.1:8188", None, None),
    ],
)
def test_split_credentials(
    pasted: str, address: str, user: str | None, password: str | None
) -> None:
    assert split_credentials(pasted) == (address, user, password)
    assert without_credentials(pasted.strip()) == address


def test_passwords_from_addresses_are_hidden_from_logs() -> None:
    split_credentials("https://u:pw-split-4242@host")
    normalize_url("https://u:pw-normal-4343@host")
    assert redact("pw-split-4242 pw-normal-4343") == "*** ***"


def test_auth_headers() -> None:
    def basic(pair: str) -> str:
        return "Basic " + base64.b64encode(pair.encode()).decode()

    assert ServerConfig("h", username="u").auth_headers() == {"Authorization": basic("u:")}
    assert ServerConfig("h", username="u", password="p").auth_headers() == {
        "Authorization": basic("u:p")
    }
    assert ServerConfig("h", token="t", username="u", password="p").auth_headers() == {
        "Authorization": "Bearer t"
    }
    assert ServerConfig("h", headers={"X-Key": "k"}).auth_headers() == {"X-Key": "k"}
    assert ServerConfig("h").auth_headers() == {}
