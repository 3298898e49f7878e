"""Uploads on their own: each content travels once per connection, live inputs rotate through
a few names, and a name that was reused never stands for the content it held before."""

from __future__ import annotations

import asyncio

import pytest

from ai_diffusion.comfy.uploads import LIVE_SLOTS, Uploads


class Server:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.sent: list[str] = []
        self.fail = 0
        self.gate: asyncio.Event | None = None

    async def send(self, name: str, data: bytes) -> str:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise OSError("dropped")
        self.sent.append(name)
        self.files[name] = data
        return name


async def test_the_same_content_travels_once_even_while_on_its_way() -> None:
    server, uploads = Server(), Uploads("c" * 32)
    server.gate = asyncio.Event()
    first = asyncio.ensure_future(uploads.stored_as("a.png", b"A", server.send))
    second = asyncio.ensure_future(uploads.stored_as("a.png", b"A", server.send))
    await asyncio.sleep(0)
    server.gate.set()
    assert await first == await second == "a.png"
    assert server.sent == ["a.png"]


async def test_a_failed_upload_is_tried_again() -> None:
    server, uploads = Server(), Uploads("c" * 32)
    server.fail = 1
    with pytest.raises(OSError):
        await uploads.stored_as("a.png", b"A", server.send)
    assert await uploads.stored_as("a.png", b"A", server.send) == "a.png"
    assert server.sent == ["a.png"]


async def test_live_inputs_rotate_and_a_reused_name_is_not_trusted() -> None:
    server, uploads = Server(), Uploads("c" * 32)
    contents = [bytes([i]) for i in range(LIVE_SLOTS + 3)]
    names = [await uploads.stored_as("x.png", c, server.send, rotating=True) for c in contents]
    assert len(set(names)) == LIVE_SLOTS  # the server holds at most this many live files
    assert len(server.files) == LIVE_SLOTS
    # Recent content is still there: nothing travels.
    recent = await uploads.stored_as("x.png", contents[-1], server.send, rotating=True)
    assert recent == names[-1] and len(server.sent) == len(contents)
    # The first content's name now holds other pixels: it is sent again, and whatever name it
    # is given holds it.
    again = await uploads.stored_as("x.png", contents[0], server.send, rotating=True)
    assert len(server.sent) == len(contents) + 1
    assert server.files[again] == contents[0]
    # Every name the bookkeeping trusts holds exactly the content it stands for.
    for content in contents:
        name = await uploads.stored_as("x.png", content, server.send, rotating=True)
        assert server.files[name] == content


async def test_ordinary_inputs_keep_their_own_names() -> None:
    server, uploads = Server(), Uploads("c" * 32)
    assert await uploads.stored_as("aid-123.png", b"A", server.send) == "aid-123.png"
