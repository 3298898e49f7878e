"""The fake ComfyUI's websockets, kept as ComfyUI 0.8.0's ``PromptServer`` keeps them.

One socket per ``clientId``: a new connection with the same id takes the place of the old one
(which stays open but hears nothing more), and each connection starts with empty feature
flags. When a handler ends, it removes *whatever socket its id holds now*: if the client
reconnected before the server noticed the old connection drop, the old handler's cleanup
unregisters the new socket, which then stays open and silent. ``late_cleanup`` makes that
ordering happen on purpose.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiohttp import web


class Sockets:
    def __init__(self) -> None:
        self.by_id: dict[str, web.WebSocketResponse] = {}
        self.flags: dict[str, dict[str, Any]] = {}  # the connection's feature flags
        self.opened: Counter[str] = Counter()  # connections per client id, ever
        self.late_cleanup = False

    def register(self, client_id: str, ws: web.WebSocketResponse) -> None:
        self.by_id.pop(client_id, None)  # "reusing existing session, remove old"
        self.by_id[client_id] = ws
        self.flags[client_id] = {}
        self.opened[client_id] += 1

    async def unregister(self, client_id: str, ws: web.WebSocketResponse) -> None:
        if self.late_cleanup:
            # The server notices the old connection's end only after the client is back.
            for _ in range(500):
                if self.by_id.get(client_id) not in (None, ws):
                    break
                await asyncio.sleep(0.01)
        self.by_id.pop(client_id, None)
        self.flags.pop(client_id, None)

    def set_flags(self, client_id: str, flags: dict[str, Any]) -> None:
        if client_id in self.by_id:
            self.flags[client_id] = flags

    def wants_metadata(self, client_id: str) -> bool:
        return bool(self.flags.get(client_id, {}).get("supports_preview_metadata"))

    def ids(self) -> list[str]:
        return list(self.by_id)

    async def send_json(self, client_id: str, message: dict[str, Any]) -> None:
        ws = self.by_id.get(client_id)
        if ws is not None:
            try:
                await ws.send_json(message)
            except (ConnectionError, RuntimeError):
                pass

    async def send_str(self, client_id: str, text: str) -> None:
        ws = self.by_id.get(client_id)
        if ws is not None:
            await ws.send_str(text)

    async def send_bytes(self, client_id: str, frame: bytes) -> None:
        ws = self.by_id.get(client_id)
        if ws is not None:
            try:
                await ws.send_bytes(frame)
            except (ConnectionError, RuntimeError):
                pass

    async def close(self, client_id: str) -> None:
        ws = self.by_id.get(client_id)
        if ws is not None:
            await ws.close()

    async def close_all(self) -> None:
        for ws in list(self.by_id.values()):
            await ws.close()
        self.by_id.clear()
        self.flags.clear()

    async def wait_for_new_connection(self, client_id: str, seen: int) -> None:
        """Until ``client_id`` has opened more than ``seen`` connections (bounded)."""
        for _ in range(1000):
            if self.opened[client_id] > seen:
                return
            await asyncio.sleep(0.01)
