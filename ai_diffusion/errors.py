"""Errors a painter can meet.

Every exception that may reach the docker or the CLI derives from :class:`UserError` and
carries a ``message`` in the painter's words: what happened, then what to do.
"""

from __future__ import annotations


class UserError(Exception):
    """An error with a message meant for the painter, not a programmer."""

    def __init__(self, message: str, *, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        # Technical details for logs and "copy diagnostics"; never secrets.
        self.details = details

    def __str__(self) -> str:
        return self.message
