"""Secrets (server tokens, passwords, provider API keys) through the system's password store.

Never in a settings file or a log. Where the system has no password store (keyring finds no
usable backend, e.g. Linux without Secret Service or Krita's Python without its C libraries),
:class:`SecretStore` says so and keeps secrets in memory for this session only — never in a
file. Every secret read or written is registered with :func:`ai_diffusion.logs.register_secret`.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from .logs import register_secret

log = logging.getLogger(__name__)
SERVICE = "ai_diffusion"


class StoreState(str, Enum):
    system = "system"  # saved in the system's password store, survives a restart
    session = "session"  # no usable password store: kept in memory until Krita closes


SESSION_ONLY_MESSAGE = (
    "This system has no password store, so the key is only kept until Krita closes; "
    "you will need to enter it again next time."
)
SYSTEM_MESSAGE = "Saved in your system's password store."


def system_keyring() -> Any | None:
    """The ``keyring`` module when it has a usable backend, else None (fail/null/no backend)."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as e:  # missing or broken in this Python
        log.info("keyring unavailable: %s", type(e).__name__)
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as e:
        log.info("keyring has no backend: %s", type(e).__name__)
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__ == "keyring.backends.null":
        return None
    try:
        if float(getattr(backend, "priority", 1)) <= 0:
            return None
    except Exception:  # some backends compute priority and raise when unusable
        return None
    return keyring


class SecretStore:
    """get / set / delete a secret by name under the service ``ai_diffusion``."""

    def __init__(self, keyring_module: Any | None = None, *, use_system: bool = True) -> None:
        if keyring_module is None and use_system:
            keyring_module = system_keyring()
        self._keyring = keyring_module
        self._memory: dict[str, str] = {}

    @property
    def state(self) -> StoreState:
        return StoreState.system if self._keyring is not None else StoreState.session

    @property
    def persistent(self) -> bool:
        """True when secrets survive a restart (a system password store is in use)."""
        return self.state is StoreState.system

    @property
    def status(self) -> str:
        """One sentence for the painter about where their keys are kept."""
        return SYSTEM_MESSAGE if self.persistent else SESSION_ONLY_MESSAGE

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
                # Locked or broken store: keep going for this session, and say so.
                log.warning("saving %s in the password store failed: %s", name, type(e).__name__)
                self._keyring = None

    def delete(self, name: str) -> None:
        self._memory.pop(name, None)
        if self._keyring is not None:
            try:
                self._keyring.delete_password(SERVICE, name)
            except Exception as e:  # not there (PasswordDeleteError) or store unavailable
                log.debug("deleting %s from the password store: %s", name, type(e).__name__)
