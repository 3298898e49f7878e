"""Provider errors, typed and worded for painters. Messages never contain an API key."""

from __future__ import annotations

from ..errors import UserError


class ProviderError(UserError):
    def __init__(self, message: str, *, status: int = 0, details: str = "") -> None:
        super().__init__(message, details=details)
        self.status = status


class AuthError(ProviderError):
    pass


class InsufficientFunds(ProviderError):
    pass


class NoCapacity(ProviderError):
    """This GPU type / offer cannot be had right now: try the next candidate."""


class RateLimited(ProviderError):
    def __init__(self, message: str, retry_after: float, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class InvalidRequest(ProviderError):
    pass


class Conflict(ProviderError):
    """The action is not possible in the pod's current state (HTTP 409)."""


class ResumeRefused(ProviderError):
    """The stopped pod's machine has no free GPU: terminate and create a new pod."""


class NotFound(ProviderError):
    pass


class TransientError(ProviderError):
    pass


class PodFailed(ProviderError):
    """The pod stopped or failed while we waited for it."""


class PodTokenRefused(PodFailed):
    """The pod's auth proxy answered 401/403: the access token is missing or wrong."""
