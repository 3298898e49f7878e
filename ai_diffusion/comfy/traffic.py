"""Counting the bytes a client moves: for diagnostics and the benchmark script."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp


@dataclass
class Traffic:
    """Body bytes of HTTP requests and answers, plus websocket frames received (headers and
    TLS overhead are not counted)."""

    sent: int = 0
    received: int = 0

    def trace_config(self) -> aiohttp.TraceConfig:
        trace = aiohttp.TraceConfig()

        async def chunk_sent(session: Any, context: SimpleNamespace, params: Any) -> None:
            self.sent += len(params.chunk)

        async def chunk_received(session: Any, context: SimpleNamespace, params: Any) -> None:
            self.received += len(params.chunk)

        trace.on_request_chunk_sent.append(chunk_sent)
        trace.on_response_chunk_received.append(chunk_received)
        return trace
