"""JSON over HTTP for job-API backends: rate limits (429) waited out, network failures
turned into painter-worded :class:`ConnectionFailure`s. Callers map the other statuses."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..comfy.errors import ConnectionFailure, FailureKind

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # parsed JSON, or the text when it is not JSON
    retry_after: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None


def retry_seconds(value: str, attempt: int) -> float:
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        return float(min(2**attempt, 30))


class JsonHttp:
    """One aiohttp session with the service's auth headers; ``service`` names it in messages
    ("RunPod", "your Salad container group"). The headers are never logged or shown."""

    def __init__(
        self,
        service: str,
        headers: dict[str, str],
        *,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 60.0,
        rate_limit_attempts: int = 5,
    ) -> None:
        self.service = service
        self.sleep = sleep
        self.rate_limit_attempts = rate_limit_attempts
        self.session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=15)
        )
        self.sent = 0  # request body bytes, for diagnostics

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, url: str, data: bytes | None = None, *, timeout: float | None = None
    ) -> Answer:
        """Send once; a 429 is retried after its Retry-After (or a growing pause), because the
        service refused the request without acting on it. Other statuses are returned."""
        headers = {"Content-Type": "application/json"} if data is not None else None
        extra = {"timeout": aiohttp.ClientTimeout(total=timeout)} if timeout else {}
        for attempt in range(self.rate_limit_attempts):
            try:
                async with self.session.request(
                    method, url, data=data, headers=headers, **extra
                ) as response:
                    text = await response.text(errors="replace")
                    answer = Answer(
                        response.status, _parse(text), response.headers.get("Retry-After", "")
                    )
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                raise self.network_failure(e) from e
            self.sent += len(data or b"")
            if answer.status != 429:
                return answer
            wait = retry_seconds(answer.retry_after, attempt)
            log.info("%s answered 429; retry %d in %.1f s", self.service, attempt + 1, wait)
            await self.sleep(wait)
        raise ConnectionFailure(
            FailureKind.HTTP_ERROR,
            f"{self.service} is refusing requests because too many were sent. Wait a minute, "
            "then try again.",
        )

    async def download(self, url: str) -> bytes:
        """A result image from a storage URL: sent without this service's auth headers."""
        try:
            async with aiohttp.ClientSession() as plain:
                async with plain.get(url) as response:
                    if response.status != 200:
                        raise ConnectionFailure(
                            FailureKind.HTTP_ERROR,
                            f"A finished image could not be downloaded from the storage bucket "
                            f"({response.status}). Check the bucket settings of the worker.",
                        )
                    return await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            raise self.network_failure(e) from e

    def network_failure(self, error: BaseException) -> ConnectionFailure:
        if isinstance(error, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
            return ConnectionFailure(
                FailureKind.TIMEOUT,
                f"{self.service} did not answer in time. Check your internet connection and "
                "try again.",
                details=repr(error),
            )
        if isinstance(error, aiohttp.ClientConnectorError):
            return ConnectionFailure(
                FailureKind.REFUSED,
                f"{self.service} could not be reached. Check your internet connection and the "
                "address in the connection settings.",
                details=repr(error),
            )
        return ConnectionFailure(
            FailureKind.DROPPED,
            f"The connection to {self.service} was cut. Check your internet connection and try "
            "again.",
            details=repr(error),
        )


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
