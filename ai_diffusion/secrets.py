"""Secrets (server tokens, passwords, provider API keys) through the system's password store.

Never in a settings file or a log. Where the system has no password store (keyring finds no
usable backend, e.g. Linux without Secret Service or Krita's Python without its C libraries),
:class:`SecretStore` says so and keeps secrets in memory for this session only.
"""

from __future__ import annotations

import logging
from typing import Any

from .logs import register_secret

log = logging.getLogger(__name__)
SERVICE = "ai_diffusion"


def _keyring() -> Any | None:
    try:
        import keyring
        from keyring.backends import fail
    except Exception as e:  # missing or broken in this Python
        log.info("keyring unavailable: %s", e)
        return None
    backend = keyring.get_keyring()
    names = {type(backend).__module__, type(backend).__name__}
    if isinstance(backend, fail.Keyring) or "keyring.backends.null" in names:
        return None
    if getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


class SecretStore:
    def __init__(self, keyring_module: Any | None = None, *, use_system: bool = True) -> None:
        self._keyring = (
            keyring_module if keyring_module is not None else (_keyring() if use_system else None)
        )
        self._memory: dict[str, str] = {}

    @property
    def persistent(self) -> bool:
        """True when secrets survive a restart (a system password store is in use)."""
        return self._keyring is not None

    @property
    def status(self) -> str:
        if self.persistent:
            return "Saved in your system's password store."
        return (
            "This system has no password store: the secret is kept only until Krita closes, "
            "and you will need to enter it again next time."
        )

    def get(self, name: str) -> str | None:
        value = self._memory.get(name)
        if value is None and self._keyring is not None:
            try:
                value = self._keyring.get_password(SERVICE, name)
            except Exception as e:
                log.warning("reading %s from the password store failed: %s", name, type(e).__name__)
        register_secret(value)
        return value

    def set(self, name: str, value: str | None) -> None:
        if not value:
            self.delete(name)
            return
        register_secret(value)
        self._memory[name] = value
        if self._keyring is not None:
            try:
                self._keyring.set_password(SERVICE, name, value)
            except Exception as e:
                log.warning("saving %s in the password store failed: %s", name, type(e).__name__)

    def delete(self, name: str) -> None:
        self._memory.pop(name, None)
        if self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, name)
            except Exception:
                pass
