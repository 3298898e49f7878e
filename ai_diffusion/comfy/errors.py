"""Connection and server errors, each with a message for the painter."""

from __future__ import annotations

from enum import Enum

from ..errors import UserError


class FailureKind(str, Enum):
    INVALID_URL = "invalid_url"
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS = "tls"
    AUTH = "auth"
    PROXY_UNAVAILABLE = "proxy_unavailable"  # 502/503/504/524 from a proxy in front
    STARTING = "starting"  # an HTML page with 200: the pod's ComfyUI is not up yet
    LOGIN_PAGE = "login_page"
    NOT_COMFYUI = "not_comfyui"
    HTTP_ERROR = "http_error"
    WEBSOCKET_REFUSED = "websocket_refused"
    DROPPED = "dropped"


class ConnectionFailure(UserError):
    def __init__(self, kind: FailureKind, message: str, *, details: str = "") -> None:
        super().__init__(message, details=details)
        self.kind = kind


class ServerRejected(UserError):
    """The server refused a job (HTTP 400 from /prompt): missing model, node or input."""

    def __init__(self, message: str, *, node: str | None = None, details: str = "") -> None:
        super().__init__(message, details=details)
        self.node = node
