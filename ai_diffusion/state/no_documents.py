"""A document source with no documents (outside Krita, before the adapter is given)."""

from __future__ import annotations

from .document import CanvasDocument


class NoDocuments:
    def active(self) -> CanvasDocument | None:
        return None

    def find(self, document_id: str) -> CanvasDocument | None:
        return None
