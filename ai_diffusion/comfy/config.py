"""Where the server is and how to talk to it, from whatever URL a painter pastes."""

from __future__ import annotations

import base64
import ipaddress
import ssl
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ..logs import register_secret
from .errors import ConnectionFailure, FailureKind


@dataclass(frozen=True)
class ServerConfig:
    url: str
    token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    verify_tls: bool = True
    connect_timeout: float = 15.0
    request_timeout: float = 60.0
    # Sent as the job's extra_data.preview_method: "auto" asks for step previews even when
    # the server runs with the default --preview-method none; "none" turns them off.
    preview_method: str = "auto"

    def normalized(self) -> ServerConfig:
        """URL cleaned up; ``user:pass@`` moved out of it into basic-auth fields."""
        url, user, password = normalize_url(self.url)
        config = replace(self, url=url)
        if user and not self.username:
            config = replace(config, username=user, password=password)
        for secret in (config.token, config.password, *config.headers.values()):
            register_secret(secret)
        return config

    def auth_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        elif self.username:
            pair = f"{self.username}:{self.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return headers

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.url.startswith("https"):
            return None
        context = ssl.create_default_context()
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def endpoint(self, path: str) -> str:
        return self.url + path

    def websocket_url(self, client_id: str) -> str:
        scheme = "wss" if self.url.startswith("https") else "ws"
        return f"{scheme}{self.url[self.url.index(':') :]}/ws?clientId={quote(client_id)}"


def _is_plain_host(host: str) -> bool:
    """localhost, an IP address or a single-label LAN name: served over plain http."""
    if host in ("localhost", "") or "." not in host:
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def normalize_url(text: str) -> tuple[str, str | None, str | None]:
    """Clean a pasted server address. Returns (url, user, password).

    ``localhost:8188`` → ``http://localhost:8188``; ``1.2.3.4:40123`` (vast.ai) → http;
    ``abc-8188.proxy.runpod.net`` → ``https://…``; stray spaces and trailing slashes go; a path
    prefix is kept; ``user:pass@`` becomes basic auth. Without a scheme, localhost, IP
    addresses and single-label LAN names get http (ComfyUI itself has no TLS); any other
    domain name gets https (RunPod's proxy, reverse proxies, tunnels all serve TLS).
    """
    raw = text.strip().strip("'\"").strip()
    shown = without_credentials(raw)
    if not raw:
        raise ConnectionFailure(
            FailureKind.INVALID_URL, "Enter the address of your ComfyUI server."
        )
    not_an_address = ConnectionFailure(
        FailureKind.INVALID_URL,
        f"'{shown}' is not a server address. It should look like "
        "https://abc123-8188.proxy.runpod.net or 127.0.0.1:8188.",
    )
    try:
        if "://" not in raw:
            host = urlsplit("//" + raw).hostname or ""
            raw = ("http://" if _is_plain_host(host) else "https://") + raw
        parts = urlsplit(raw)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        raise not_an_address from None
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise not_an_address
    if any(c.isspace() for c in parts.netloc):
        raise not_an_address
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    try:
        port = parts.port
    except ValueError:
        raise ConnectionFailure(
            FailureKind.INVALID_URL,
            f"The port in '{shown}' is not a number from 1 to 65535.",
        ) from None
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    path = parts.path.rstrip("/")
    for suffix in ("/ws", "/system_stats"):  # a pasted endpoint instead of the server
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
    url = urlunsplit((scheme, netloc, path, "", ""))
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    register_secret(password)
    return url, user, password


def without_credentials(text: str) -> str:
    """``text`` for a message, a field or a file: any ``user:password@`` part is left out."""
    scheme, sep, rest = text.rpartition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = authority.rsplit("@", 1)[1]
    return f"{scheme}{sep}{authority}{slash}{path}"


def split_credentials(text: str) -> tuple[str, str | None, str | None]:
    """A pasted address as (address without ``user:password@``, user, password). The address
    is otherwise kept as typed; user and password are URL-decoded, None when absent."""
    text = text.strip()
    scheme, sep, rest = text.rpartition("://")
    authority = rest.partition("/")[0]
    if "@" not in authority:
        return text, None, None
    userinfo = authority.rsplit("@", 1)[0]
    user, colon, password = userinfo.partition(":")
    register_secret(unquote(password) if colon else None)
    return (
        without_credentials(text),
        unquote(user) or None,
        unquote(password) if colon and password else None,
    )
