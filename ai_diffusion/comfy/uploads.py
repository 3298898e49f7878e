"""Which input images the server already has, and under which names.

Every input is uploaded once per connection: a job whose image the server already holds (same
content hash) only names it, and a job that needs an image still on its way waits for that same
transfer. A failed upload is forgotten, so the next job tries again.

Inputs of streamed (live) jobs are only needed while their job runs, and ComfyUI has no way to
delete inputs: they go to a few rotating names per client (``overwrite``), so live painting
leaves at most ``LIVE_SLOTS`` files on the server however long it runs. Reusing a name forgets
the content it held before; that content is sent again when it is needed again (an undo back
to an older canvas).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

LIVE_SLOTS = 8  # files per client for live inputs: more than live painting has jobs in flight

# (server name, data) → the name the server stored it under
Send = Callable[[str, bytes], Awaitable[str]]


class Uploads:
    def __init__(self, client_id: str) -> None:
        self._prefix = f"aid-live-{client_id[:12]}"
        self._uploads: dict[str, asyncio.Future[str]] = {}  # content hash → its upload
        self._slot_of: dict[str, str] = {}  # content hash → the rotating name it went to
        self._next_slot = 0

    async def stored_as(self, name: str, data: bytes, send: Send, rotating: bool = False) -> str:
        """The server's name for ``data``, uploading it (as ``name``, or under a rotating
        name) unless the server has it or it is on its way."""
        digest = hashlib.sha256(data).hexdigest()
        upload = self._uploads.get(digest)
        if upload is None:
            target = self._take_slot(digest) if rotating else name
            upload = asyncio.ensure_future(send(target, data))
            self._uploads[digest] = upload
            upload.add_done_callback(lambda done: self._forget_failed(digest, done))
        # Shielded: a job cancelled while it waits leaves the upload to whoever else needs it.
        return await asyncio.shield(upload)

    def _take_slot(self, digest: str) -> str:
        slot = f"{self._prefix}-{self._next_slot % LIVE_SLOTS}.png"
        self._next_slot += 1
        for old, used in list(self._slot_of.items()):
            if used == slot:  # that file is about to hold other content
                del self._slot_of[old]
                self._uploads.pop(old, None)
        self._slot_of[digest] = slot
        return slot

    def _forget_failed(self, digest: str, upload: asyncio.Future[str]) -> None:
        if upload.cancelled() or upload.exception() is not None:
            if self._uploads.get(digest) is upload:
                del self._uploads[digest]
                self._slot_of.pop(digest, None)

    def cancel(self) -> None:
        for upload in self._uploads.values():
            upload.cancel()
