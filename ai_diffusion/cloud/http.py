"""HTTP to a provider's API: bearer auth, retries for 429 (Retry-After) and transient 5xx."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from ..logs import register_secret
from .errors import ProviderError, RateLimited, TransientError

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
ErrorMapper = Callable[[int, Any, str], ProviderError]  # (status, parsed body, retry-after)


class ProviderHttp:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        error_for: ErrorMapper,
        *,
        provider: str,
        sleep: Sleep = asyncio.sleep,
        max_attempts: int = 4,
        max_wait: float = 60.0,
        timeout: float = 60.0,
        key_header: str = "",  # the header carrying the key, when not "Authorization: Bearer"
    ) -> None:
        register_secret(api_key)
        self.base_url = base_url.rstrip("/")
        auth = {key_header: api_key} if key_header else {"Authorization": f"Bearer {api_key}"}
        self._headers = {**auth, "Accept": "application/json"}
        self.error_for = error_for
        self.provider = provider
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def request(
        self, method: str, path: str, body: Any = None, params: dict | None = None
    ) -> Any:
        url = self.base_url + path
        for attempt in range(1, self.max_attempts + 1):
            try:
                async with aiohttp.ClientSession(headers=self._headers, timeout=self.timeout) as s:
                    async with s.request(method, url, json=body, params=params) as response:
                        text = await response.text(errors="replace")
                        status = response.status
                        retry_after = response.headers.get("Retry-After", "")
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                error: ProviderError = TransientError(
                    f"Could not reach {self.provider} ({type(e).__name__}). Check your internet "
                    "connection; the request is retried automatically.",
                    details=str(e),
                )
            else:
                if 200 <= status < 300:
                    return json.loads(text) if text.strip() else None
                try:
                    parsed: Any = json.loads(text)
                except ValueError:
                    parsed = text
                error = self.error_for(status, parsed, retry_after)
            if not isinstance(error, (RateLimited, TransientError)):
                raise error
            if attempt == self.max_attempts:
                raise self._gave_up(error)
            wait = error.retry_after if isinstance(error, RateLimited) else 2 ** (attempt - 1)
            log.info(
                "%s %s: %s; retry %d in %.1fs", method, path, type(error).__name__, attempt, wait
            )
            await self.sleep(min(wait, self.max_wait))
        raise AssertionError("unreachable")

    def _gave_up(self, error: ProviderError) -> ProviderError:
        """The final word after the retries: no more "retrying shortly"."""
        if isinstance(error, RateLimited):
            return RateLimited(
                f"{self.provider} is refusing requests because too many were sent. "
                "Wait a minute, then try again.",
                error.retry_after,
                status=error.status,
            )
        return TransientError(
            f"{self.provider} did not answer properly after {self.max_attempts} tries. "
            "Check your internet connection, then try again in a few minutes.",
            status=error.status,
            details=error.details,
        )


def parse_retry_after(value: str, default: float = 5.0) -> float:
    try:
        return max(0.0, float(value))
    except ValueError:
        return default
