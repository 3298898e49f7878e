"""What the error catalogs share (test_error_catalog.py, test_error_catalog_backends.py): each
case is a coroutine that meets one bad input through the real code path and returns the
message the painter reads; that message holds the case's phrase, and so does
docs/troubleshooting.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "troubleshooting.md"
Case = Callable[[], Awaitable[str]]


class Catalog:
    def __init__(self) -> None:
        self.cases: dict[str, tuple[str, Case]] = {}

    def __len__(self) -> int:
        return len(self.cases)

    def case(self, phrase: str) -> Callable[[Case], Case]:
        """Register a bad-input case; ``phrase`` must be in its message and in the docs."""

        def register(fn: Case) -> Case:
            self.cases[fn.__name__] = (phrase, fn)
            return fn

        return register

    def message_test(self) -> Callable[..., Any]:
        """``test_each_bad_input_gets_its_message``, for each case of this catalog."""

        @pytest.mark.parametrize("name", sorted(self.cases))
        async def test_each_bad_input_gets_its_message(name: str) -> None:
            phrase, produce = self.cases[name]
            message = await produce()
            assert phrase in message, message
            assert "Traceback" not in message

        return test_each_bad_input_gets_its_message

    def docs_test(self) -> Callable[..., Any]:
        """``test_troubleshooting_page_explains_each_message``, for each case of this catalog."""

        @pytest.mark.parametrize("name", sorted(self.cases))
        def test_troubleshooting_page_explains_each_message(name: str) -> None:
            phrase, _ = self.cases[name]
            text = " ".join(DOC.read_text(encoding="utf-8").split())  # line breaks don't matter
            assert phrase in text, f"docs/troubleshooting.md lacks: {phrase}"

        return test_troubleshooting_page_explains_each_message
