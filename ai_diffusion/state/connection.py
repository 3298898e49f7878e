"""Where the plugin connects: the one source of truth for the server address, its login, TLS
choice, kind of server and the cloud pod it points at.

Widgets bind to a :class:`Connection` and write into it; they never read a text box back to
learn the address. It builds the configuration the controller connects with
(:meth:`Connection.config`), and keeps what it holds: plain choices in the settings file,
tokens, passwords and API keys in the secret store (never in the file). :func:`clean_address`
is the one place a pasted address is stripped and normalised; a ``user:password@`` in it
moves to the login and is never shown or stored with the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..backends.select import (
    KINDS,
    RUNPOD_KEY_SECRET,
    SALAD_KEY_SECRET,
    SERVER_KINDS,
    backend_config,
)
from ..comfy import ServerConfig
from ..comfy.config import normalize_url
from ..errors import UserError
from ..logs import register_secret
from ..secrets import SecretStore
from ..settings import Settings
from .observable import Observable, StateObject

__all__ = ["AUTH_KINDS", "KINDS", "SERVER_KINDS", "Connection", "ConnectionFields", "clean_address"]

AUTH_KINDS = {"none": "No login", "token": "Token (Bearer)", "basic": "User name and password"}
TOKEN_SECRET = "server_token"
PASSWORD_SECRET = "server_password"
# The job APIs' keys, by kind of server (the RunPod key is the pod panel's too).
API_KEY_SECRETS = {"runpod-serverless": RUNPOD_KEY_SECRET, "salad": SALAD_KEY_SECRET}


def clean_address(text: str) -> tuple[str, str | None, str | None]:
    """``text`` as a painter pasted it → (address, user, password).

    Spaces, quotes and trailing slashes go; a ``user:password@`` part is split off. An address
    that can be normalised is (``localhost:8188`` → ``http://localhost:8188``); one that cannot
    is kept as typed, without credentials, so connecting says what is wrong with it.
    """
    raw = text.strip().strip("'\"").strip()
    if not raw:
        return "", None, None
    try:
        url, user, password = normalize_url(raw)
        return url, user, password
    except UserError:
        pass
    scheme, sep, rest = raw.rpartition("://")
    authority, slash, path = rest.partition("/")
    user = password = None
    if "@" in authority:
        userinfo, authority = authority.rsplit("@", 1)
        name, _, secret = userinfo.partition(":")
        user, password = unquote(name) or None, unquote(secret) or None
        register_secret(password)
    return f"{scheme}{sep}{authority}{slash}{path}".rstrip("/"), user, password


@dataclass
class ConnectionFields:
    """A snapshot of what the connection dialog edits (secrets included; never saved as is)."""

    url: str = ""
    auth_kind: str = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    verify_tls: bool = True
    kind: str = "auto"  # see ai_diffusion.backends.select.KINDS
    endpoint: str = ""  # RunPod Serverless endpoint id
    api_key: str = ""  # the RunPod or Salad API key for the kind
    worker_image: str = ""
    own_models: str = ""
    extra_servers: str = ""  # more ComfyUI addresses, comma-separated

    def server(self) -> ServerConfig:
        return ServerConfig(
            self.url.strip(),
            token=(self.token.strip() or None) if self.auth_kind == "token" else None,
            username=(self.username.strip() or None) if self.auth_kind == "basic" else None,
            password=(self.password or None) if self.auth_kind == "basic" else None,
            verify_tls=self.verify_tls,
        )

    def config(self) -> Any:
        """What the controller connects: a ComfyUI, a job API, or several servers at once."""
        return backend_config(
            self.kind,
            self.server(),
            endpoint=self.endpoint.strip(),
            api_key=self.api_key.strip(),
            image=self.worker_image.strip(),
            models=self.own_models,
            extra_servers=self.extra_servers if self.kind in SERVER_KINDS else "",
        )

    def missing(self) -> str:
        """What must be filled in before connecting, in words; "" when nothing."""
        if self.kind == "runpod-serverless":
            return "" if self.endpoint.strip() else "Enter the endpoint id first."
        return "" if self.url.strip() else "Enter the server's address first."


class Connection(StateObject):
    """The connection's settings, observable. ``settings``/``secrets`` are where it persists;
    ``settings_dir`` None keeps the settings in memory (tests, a failed app-data folder)."""

    address: Observable[str] = Observable("")  # never with a user name or password in it
    kind: Observable[str] = Observable("auto")
    auth_kind: Observable[str] = Observable("none")
    token: Observable[str] = Observable("")
    username: Observable[str] = Observable("")
    password: Observable[str] = Observable("")
    verify_tls: Observable[bool] = Observable(True)
    endpoint: Observable[str] = Observable("")
    api_key: Observable[str] = Observable("")
    worker_image: Observable[str] = Observable("")
    own_models: Observable[str] = Observable("")
    extra_servers: Observable[str] = Observable("")
    session_only: Observable[bool] = Observable(False)  # keep secrets until Krita closes only
    pod: Observable[str] = Observable("")  # "RunPod RTX 4090 · $0.69/h" when a pod serves us

    def __init__(
        self, settings: Settings, secrets: SecretStore, settings_dir: Path | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.secrets = secrets
        self.settings_dir = settings_dir
        self.load()

    # Editing ------------------------------------------------------------------------------

    def set_address(self, text: str) -> str:
        """Take a pasted address; credentials in it become the login. Returns the address
        as it is kept (what the address field should show)."""
        address, user, password = clean_address(text)
        if user is not None or password is not None:  # also a user or a password alone
            self.username = user or ""
            self.password = password or ""
            self.auth_kind = "basic"
        if address != self.address:
            self.pod = ""  # another server than the pod's
        self.address = address
        return address

    def type_address(self, text: str) -> None:
        """The address while the painter types it: only stripped (cleaned when kept, see
        :meth:`set_address`); a login pasted into it moves out at once."""
        if "@" in text:
            self.set_address(text)
            return
        text = text.strip()
        if text != self.address:
            self.pod = ""
        self.address = text

    def set_token(self, token: str) -> None:
        """A token typed in the panel is meant to be used."""
        self.token = token.strip()
        register_secret(self.token)
        if self.token and self.auth_kind == "none":
            self.auth_kind = "token"

    def snapshot(self) -> ConnectionFields:
        return ConnectionFields(
            url=self.address,
            auth_kind=self.auth_kind,
            token=self.token,
            username=self.username,
            password=self.password,
            verify_tls=self.verify_tls,
            kind=self.kind,
            endpoint=self.endpoint,
            api_key=self.api_key,
            worker_image=self.worker_image,
            own_models=self.own_models,
            extra_servers=self.extra_servers,
        )

    def update(self, fields: ConnectionFields, session_only: bool | None = None) -> None:
        """Take what the dialog says, and keep it."""
        self.kind = fields.kind
        self.auth_kind = fields.auth_kind
        self.set_address(fields.url)
        self.token = fields.token.strip()
        if fields.username or not self.username:
            self.username = fields.username.strip()
        if fields.password or self.auth_kind != "basic":
            self.password = fields.password
        self.verify_tls = fields.verify_tls
        self.endpoint = fields.endpoint.strip()
        self.api_key = fields.api_key.strip()
        self.worker_image = fields.worker_image.strip()
        self.own_models = fields.own_models.strip()
        self.extra_servers = fields.extra_servers.strip()
        if session_only is not None:
            self.set_session_only(session_only)
        self.save()

    def set_session_only(self, session_only: bool) -> None:
        session_only = session_only and self.secrets.persistent
        if session_only and not self.session_only:
            for name in (TOKEN_SECRET, PASSWORD_SECRET, *API_KEY_SECRETS.values()):
                self.secrets.delete(name)  # forget what an earlier session stored
        self.session_only = session_only

    def use_pod(self, url: str, token: str, label: str = "") -> None:
        """A cloud pod is ready: its ComfyUI, with the pod's token."""
        self.kind = "auto"  # a pod runs ComfyUI: found at once
        self.set_address(url)
        self.token = token
        register_secret(token)
        self.auth_kind = "token" if token else "none"
        self.pod = label or "Cloud GPU"
        self.save()

    def config(self) -> Any:
        """The configuration the controller connects with; raises a ``UserError`` in words
        when something is missing."""
        fields = self.snapshot()
        missing = fields.missing()
        if missing:
            raise UserError(missing)
        return fields.config()

    # Persistence --------------------------------------------------------------------------

    def load(self) -> None:
        s, secrets = self.settings, self.secrets
        self.kind = s.backend_kind
        self.set_address(s.server_url)
        self.verify_tls = s.verify_tls
        self.auth_kind = s.auth_kind
        self.username = self.username or s.username
        self.endpoint = s.serverless_endpoint
        self.worker_image = s.worker_image
        self.own_models = s.own_models
        self.extra_servers = s.extra_servers
        self.session_only = s.session_only_secrets or not secrets.persistent
        self.token = secrets.get(TOKEN_SECRET) or ""
        self.password = self.password or secrets.get(PASSWORD_SECRET) or ""
        key_name = API_KEY_SECRETS.get(s.backend_kind)
        self.api_key = (secrets.get(key_name) or "") if key_name else ""

    def save(self) -> None:
        self.set_address(self.address)
        s = self.settings
        s.server_url = self.address
        s.backend_kind = self.kind
        s.verify_tls = self.verify_tls
        s.auth_kind = self.auth_kind
        s.username = self.username
        s.serverless_endpoint = self.endpoint
        s.worker_image = self.worker_image
        s.own_models = self.own_models
        s.extra_servers = self.extra_servers
        s.session_only_secrets = self.session_only and self.secrets.persistent
        if not s.session_only_secrets:
            self.secrets.set(TOKEN_SECRET, self.token)
            self.secrets.set(PASSWORD_SECRET, self.password)
            key_name = API_KEY_SECRETS.get(self.kind)
            if key_name and self.api_key:
                self.secrets.set(key_name, self.api_key)
        if self.settings_dir is not None:
            s.save(self.settings_dir)


def host_of(address: str) -> str:
    """The address as the connection line shows it: the host (and port), nothing secret."""
    try:
        parts = urlsplit(address if "://" in address else "//" + address)
        return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else ""
    except ValueError:
        return ""
