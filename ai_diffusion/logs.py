"""Logging with secret redaction.

Secrets (API keys, tokens, passwords) are registered with :func:`register_secret` as soon as
they are read; every log record passing through a handler set up here has them replaced by
``***``. Lower layers use ``logging.getLogger(__name__)`` and never format secrets
themselves; this filter is a second line of defence.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

_lock = threading.Lock()
_secrets: set[str] = set()
# Values after these words in URLs or headers are hidden even when not registered.
_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic)\s+)[^\s'\",}]+"),
    re.compile(r"(?i)([?&](?:api_key|token|key)=)[^&\s'\"]+"),
    re.compile(r"(?i)(https?://[^/\s:@]+:)[^@\s/]+(@)"),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so that it never appears in log output."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and credential pattern hidden."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(
            lambda m: m.group(1) + "***" + (m.group(2) if m.lastindex == 2 else ""), text
        )
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def setup_file_logging(
    folder: Path, name: str = "ai_diffusion.log", level: int = logging.INFO
) -> Path:
    """Log everything under the ``ai_diffusion`` logger to ``folder/name`` (redacted)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("ai_diffusion")
    logger.setLevel(level)
    logger.addHandler(handler)
    return path


def setup_stderr_logging(level: int = logging.WARNING) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("ai_diffusion")
    logger.setLevel(min(level, logger.level or level))
    logger.addHandler(handler)
