"""Secrets: system password store when there is one, session-only memory when not, never a file."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.errors import PasswordDeleteError, PasswordSetError

from ai_diffusion.logs import redact
from ai_diffusion.secrets import SERVICE, SecretStore, StoreState, system_keyring


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}
        self.locked = False

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.locked:
            raise PasswordSetError("store is locked")
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.items:
            raise PasswordDeleteError("not found")
        del self.items[(service, username)]


@pytest.fixture
def backend() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


def test_keys_are_saved_in_the_system_store_under_ai_diffusion(backend: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.state is StoreState.system and store.persistent
    assert "password store" in store.status
    store.set("runpod_api_key", "rpa_SECRETKEY0001")
    assert backend.items == {(SERVICE, "runpod_api_key"): "rpa_SECRETKEY0001"}
    # A new session (new store object) reads it back from the system store.
    assert SecretStore().get("runpod_api_key") == "rpa_SECRETKEY0001"
    assert SecretStore().get("vast_api_key") is None


def test_delete_and_empty_value_remove_the_key(backend: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("vast_api_key", "vast-key-0002")
    store.delete("vast_api_key")
    assert store.get("vast_api_key") is None and backend.items == {}
    store.set("vast_api_key", "vast-key-0003")
    store.set("vast_api_key", "")
    assert store.get("vast_api_key") is None and backend.items == {}
    store.delete("never-set")  # deleting what is not there is not an error


@pytest.mark.parametrize("unusable", [fail.Keyring, null.Keyring])
def test_no_password_store_keeps_the_key_for_this_session_only(unusable) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(unusable())
    try:
        assert system_keyring() is None
        store = SecretStore()
        assert store.state is StoreState.session and not store.persistent
        assert "no password store" in store.status and "until Krita closes" in store.status
        store.set("runpod_api_key", "rpa_SESSIONONLY04")
        assert store.get("runpod_api_key") == "rpa_SESSIONONLY04"
        assert SecretStore().get("runpod_api_key") is None  # gone with the session
    finally:
        keyring.set_keyring(previous)


def test_missing_keyring_module_is_session_only(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    import builtins

    real_import = builtins.__import__

    def no_keyring(name: str, *args, **kwargs):
        if name == "keyring" or name.startswith("keyring."):
            raise ImportError("No module named 'keyring'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_keyring)
    with caplog.at_level(logging.INFO, logger="ai_diffusion"):
        assert system_keyring() is None
    assert SecretStore().state is StoreState.session
    assert "keyring unavailable: ImportError" in caplog.text


def test_a_keyring_without_backend_is_session_only(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def broken() -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    with caplog.at_level(logging.INFO, logger="ai_diffusion"):
        assert system_keyring() is None
    assert "keyring has no backend: RuntimeError" in caplog.text


def test_locked_store_falls_back_to_the_session_and_says_so(backend: MemoryKeyring, caplog) -> None:
    backend.locked = True
    store = SecretStore()
    with caplog.at_level(logging.DEBUG):
        store.set("runpod_api_key", "rpa_LOCKEDSTORE05")
    assert store.get("runpod_api_key") == "rpa_LOCKEDSTORE05"
    assert store.state is StoreState.session
    assert "saving runpod_api_key in the password store failed" in caplog.text
    assert "rpa_LOCKEDSTORE05" not in caplog.text


def test_every_secret_read_is_redacted_from_logs(backend: MemoryKeyring) -> None:
    backend.items[(SERVICE, "server_token")] = "tok-READFROMSTORE06"
    value = SecretStore().get("server_token")
    assert redact(f"connecting with {value}") == "connecting with ***"


def test_every_secret_saved_is_redacted_from_logs(backend: MemoryKeyring) -> None:
    SecretStore().set("server_token", "tok-SAVEDTOSTORE07")
    assert redact("tok-SAVEDTOSTORE07") == "***"


def test_store_failures_are_logged_without_the_secret(backend: MemoryKeyring, caplog) -> None:
    store = SecretStore()
    backend.get_password = lambda *a: (_ for _ in ()).throw(RuntimeError("locked"))  # type: ignore[method-assign]
    with caplog.at_level(logging.DEBUG, logger="ai_diffusion"):
        assert store.get("server_token") is None
        store.delete("never-saved")
    assert "reading server_token from the password store failed" in caplog.text
    assert "deleting never-saved" in caplog.text
