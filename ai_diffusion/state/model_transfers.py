"""New models onto the connected server, from the docker: a link the pod downloads itself, or
a file from the painter's disk, through the pod gateway (``cloud/gateway.py``; docs/gateway.md).

Whether the server is behind the gateway is asked once per connection (``GET /gateway/health``,
no token needed). A server that is not (a plain ComfyUI the painter runs, or pasted) gets
``by_hand``: where its model files go and an ``scp`` line for its host. When a transfer ends
well, the controller re-reads the server's model lists (ComfyUI rescans its folders on
``/object_info``), so the new model is among the docker's choices without reconnecting.

A SaladCloud comfyui-api group (``gateway`` "salad") downloads a link itself (its own
``POST /models``, ``SaladComfyApi.add_model``): one replica gets it, with no progress until it
ends; a file from the painter's disk cannot go there (``SALAD_NO_UPLOAD`` says what to do).

A Civitai API key typed in the panel is sent with Civitai links (to Civitai only: the gateway
drops it on a redirect to another host) for this session; Save also keeps it in the password
store (``civitai_token``). Never in settings, never in a log or a message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from .. import eventloop
from ..cloud.errors import ProviderError
from ..cloud.gateway import FOLDERS, GatewayClient, Transfer, guess_folder, is_gateway
from ..cloud.images import IMAGES
from ..errors import UserError
from ..handover import Handover
from ..secrets import SecretStore
from .observable import Observable, StateObject

log = logging.getLogger(__name__)
CIVITAI_SECRET = "civitai_token"
CIVITAI_HOSTS = ("civitai.com", "civitai.green")
ENDED = ("done", "failed", "cancelled")
SALAD_NO_UPLOAD = (
    "A Salad group cannot take a model file from your computer: it only downloads from a link. "
    "Put the file where a link reaches it (e.g. your own Hugging Face repository) and paste the "
    "link here, or add it to the group's model manifest in the Salad portal."
)
# The images a RunPod proxy address's port tells (``<pod>-<port>.proxy.runpod.net``).
RUNPOD_PORTS = {3001: IMAGES["krita"], 8188: IMAGES["runpod-comfyui"]}
_VERBS = {
    "starting": "starting",
    "queued": "waiting",
    "downloading": "downloading",
    "uploading": "uploading",
    "verifying": "checking",
}


@dataclass(frozen=True)
class TransferRow:
    """One download or upload as the panel shows it."""

    key: str  # this session's own id ("d1", "u2", …)
    kind: str  # "download" | "upload"
    name: str  # the file name (a download's is known once the pod has asked the link)
    folder: str
    state: str = (
        "starting"  # starting, queued, downloading/uploading, verifying, done, failed, cancelled
    )
    done: int = 0  # bytes
    total: int = 0  # bytes, 0 while unknown
    error: str = ""  # in the painter's words

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    def line(self) -> str:
        label = FOLDERS.get(self.folder, self.folder)
        if self.state == "done":
            return f"{self.name} ({label}): ready"
        if self.state == "failed":
            return f"{self.name}: {self.error}"
        if self.state == "cancelled":
            return f"{self.name}: cancelled, nothing was kept"
        size = f"{_mb(self.done)} of {_mb(self.total)} MB" if self.total else f"{_mb(self.done)} MB"
        return f"{self.name} ({label}): {_VERBS.get(self.state, self.state)}, {size}"


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f}"


class ModelTransfers(StateObject):
    # "" (not connected), "checking", "yes" (behind our gateway), "salad" (a Salad group: links
    # only), "no" (add models by hand)
    gateway: Observable[str] = Observable("")
    folder: Observable[str] = Observable("loras")  # the folder chosen in the panel
    transfers: Observable[tuple[TransferRow, ...]] = Observable(())
    message: Observable[str] = Observable("")  # one line for the painter
    by_hand: Observable[str] = Observable("")  # how to add a model where there is no gateway

    def __init__(self, controller: Any, secrets: SecretStore, poll: float = 1.0) -> None:
        super().__init__()
        self.controller = controller
        self.secrets = secrets
        self.poll = poll  # seconds between looks at a download on the pod
        self.civitai_hosts = CIVITAI_HOSTS
        self._typed_civitai = ""
        self._server: tuple[str, str, bool] | None = None  # url, token, verify TLS
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._ids: dict[str, str] = {}  # row key → the gateway's id of a download
        self._count = 0
        self._ui = Handover(on_error=self._report)  # state (and so widgets) outside task steps
        controller.changed.connect(self._controller_changed)
        if controller.state in ("connected", "reconnecting"):
            self._connected()

    # The server ------------------------------------------------------------------------------

    def _controller_changed(self, name: str, value: Any) -> None:
        if name != "state":
            return
        if value == "connected":
            self._connected()
        elif value in ("disconnected", "error", "connecting"):
            self._server = None
            self.gateway = ""
            self.by_hand = ""

    def _connected(self) -> None:
        config = getattr(self.controller.client, "config", None)
        url = str(getattr(config, "url", "") or "")
        server = (
            url,
            str(getattr(config, "token", "") or ""),
            bool(getattr(config, "verify_tls", True)),
        )
        if server == self._server and self.gateway in ("yes", "no", "salad"):
            return  # reconnected to the same server: asked already
        self._server = server
        if _salad(self.controller.client) is not None:
            self.gateway = "salad"
            self.by_hand = ""
            return
        if not url:  # a job API (serverless): its models are set where it runs
            self.gateway = "no"
            self.by_hand = (
                "This server runs jobs only: its models come from its image or network volume. "
                "Add them there (see docs/cloud-gpu.md)."
            )
            return
        self.gateway = "checking"
        eventloop.run(self._probe(url, server[2]), on_error=self._report)

    async def _probe(self, url: str, verify_tls: bool) -> None:
        found = await is_gateway(url, verify_tls=verify_tls)
        self._ui.call(self._probed, url, found)

    def _probed(self, url: str, found: bool) -> None:
        if self._server is None or self._server[0] != url:
            return  # disconnected or another server meanwhile
        self.gateway = "yes" if found else "no"
        self._update_by_hand()

    def _update_by_hand(self) -> None:
        if self.gateway == "no" and self._server and self._server[0]:
            self.by_hand = by_hand_text(self._server[0], self.folder)

    def set_folder(self, folder: str) -> None:
        if folder in FOLDERS:
            self.folder = folder
            self._update_by_hand()

    def _ready(self) -> bool:
        if self.gateway in ("yes", "salad") and self._server:
            return True
        self.message = {
            "": "Connect to a server first.",
            "checking": "Still asking the server whether it can receive models; try again in a moment.",
        }.get(
            self.gateway,
            "This server cannot receive models from the docker: add them by hand as said below.",
        )
        return False

    # Civitai key -----------------------------------------------------------------------------

    def is_civitai(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.civitai_hosts)

    def civitai_token(self) -> str:
        """The key typed this session, else the saved one, else ""."""
        return self._typed_civitai or self.secrets.get(CIVITAI_SECRET) or ""

    def has_saved_civitai_token(self) -> bool:
        return bool(self.secrets.get(CIVITAI_SECRET))

    def typed_civitai_token(self) -> str:
        return self._typed_civitai

    def use_civitai_token(self, text: str) -> None:
        """Typed in the panel: used from now on, until Krita closes ("" = the saved one again).
        Registered for redaction when sent, not per keystroke."""
        self._typed_civitai = text.strip()

    def save_civitai_token(self, text: str) -> None:
        """Use ``text`` and keep it in the password store; "" removes the saved key."""
        text = text.strip()
        self._typed_civitai = text
        if not text:
            self.secrets.delete(CIVITAI_SECRET)
            self.message = "Civitai key removed from the password store."
            return
        self.secrets.set(CIVITAI_SECRET, text)
        self.message = f"Civitai key: {self.secrets.status}"

    # Transfers -------------------------------------------------------------------------------

    def suggested_folder(self, name_or_url: str) -> str | None:
        return guess_folder(name_or_url)

    def download(self, url: str, folder: str | None = None) -> str | None:
        """The pod downloads ``url`` into ``folder`` (else the one its name suggests, else the
        chosen one); the new row's key, or None (``message`` says why)."""
        link = url.strip().strip("'\"").strip()
        if not self._ready():
            return None
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.message = "Paste the model's download link: it starts with https://"
            return None
        folder = folder or guess_folder(link) or self.folder
        headers: dict[str, str] = {}
        token = self.civitai_token() if self.is_civitai(link) else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        key = self._add("download", _link_name(link), folder)
        if self.gateway == "salad":
            self._start(key, self._salad_download(key, link, folder))
        else:
            self._start(key, self._download(key, link, folder, headers))
        return key

    def upload(self, path: str | Path, folder: str | None = None) -> str | None:
        """Send a file from this computer to the server's ``folder``; the row's key or None."""
        if self.gateway == "salad":
            self.message = SALAD_NO_UPLOAD
            return None
        if not self._ready():
            return None
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError:
            self.message = f"Cannot read {path.name or path}: choose the model file again."
            return None
        if not path.is_file():
            self.message = f"{path.name} is not a file: choose the model file itself."
            return None
        folder = folder or guess_folder(path.name) or self.folder
        key = self._add("upload", path.name, folder, total=size)
        self._start(key, self._upload(key, path, folder))
        return key

    def cancel(self, key: str) -> None:
        row = self.row(key)
        if row is None or row.ended:
            return
        gateway_id = self._ids.get(key)
        if row.kind == "download" and gateway_id:
            eventloop.run(self._cancel_download(key, gateway_id), on_error=self._report)
            return
        task = self._tasks.get(key)
        if task is not None:
            task.cancel()  # an upload tells the pod itself (GatewayClient.upload)
        self._set(key, {"state": "cancelled"})
        self.message = f"{row.name}: cancelled."

    def clear_ended(self) -> None:
        self.transfers = tuple(r for r in self.transfers if not r.ended)

    def row(self, key: str) -> TransferRow | None:
        return next((r for r in self.transfers if r.key == key), None)

    def _add(self, kind: str, name: str, folder: str, total: int = 0) -> str:
        self._count += 1
        key = f"{kind[0]}{self._count}"
        self.transfers = (*self.transfers, TransferRow(key, kind, name, folder, total=total))
        label = FOLDERS.get(folder, folder)
        self.message = (
            f"{'Downloading' if kind == 'download' else 'Uploading'} {name} into {label}…"
        )
        return key

    def _start(self, key: str, coro: Coroutine[Any, Any, None]) -> None:
        task = eventloop.run(self._guarded(key, coro), on_error=self._report)
        self._tasks[key] = task

    async def _guarded(self, key: str, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            self._update(key, state="cancelled")
            raise
        except ProviderError as e:
            self._update(key, state="failed", error=e.message)
        except UserError as e:
            self._update(key, state="failed", error=e.message)
        except OSError as e:
            self._update(key, state="failed", error=f"Could not read the file ({e.strerror or e}).")
        finally:
            self._tasks.pop(key, None)
        self._ui.call(self._ended, key)

    def _client(self) -> Any:
        assert self._server is not None
        url, token, verify_tls = self._server
        return GatewayClient.opened(url, token, verify_tls=verify_tls)

    async def _download(self, key: str, link: str, folder: str, headers: dict[str, str]) -> None:
        async with self._client() as client:
            try:
                gateway_id = await client.download(link, folder, headers=headers or None)
            except ProviderError as e:
                self._update(key, state="failed", error=self._words(e.message, link, headers))
                return
            self._ids[key] = gateway_id
            while True:
                t = await client.status(gateway_id)
                self._follow(key, t, link, headers)
                if t.finished:
                    return
                await asyncio.sleep(self.poll)

    async def _salad_download(self, key: str, link: str, folder: str) -> None:
        """The Salad group's replica fetches the link; it answers when the file is there."""
        salad = _salad(self.controller.client)
        if salad is None:
            raise UserError("The Salad group is no longer connected: connect again.")
        self._update(key, state="downloading")
        path = await salad.add_model(link, folder)
        self._update(key, state="done", name=str(path).rsplit("/", 1)[-1])

    def _follow(self, key: str, t: Transfer, link: str, headers: dict[str, str]) -> None:
        changes: dict[str, Any] = {"state": t.state, "done": t.done, "total": t.total or 0}
        if t.filename:
            changes["name"] = t.filename
        if t.state == "failed":
            changes["error"] = self._words(
                t.error or "The download failed on the pod.", link, headers
            )
        self._update(key, **changes)

    async def _cancel_download(self, key: str, gateway_id: str) -> None:
        async with self._client() as client:
            t = await client.cancel(gateway_id)
        self._update(key, state=t.state if t.finished else "cancelled")

    async def _upload(self, key: str, path: Path, folder: str) -> None:
        shown = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - shown[0] >= 0.2 or done >= total:
                shown[0] = now
                self._update(key, state="uploading", done=done, total=total)

        async with self._client() as client:
            t = await client.upload(path, folder, on_progress=progress)
        self._update(key, state=t.state, done=t.done, total=t.total or 0)

    def _words(self, error: str, link: str, headers: dict[str, str]) -> str:
        """The gateway's words, with what to do when Civitai wants a key."""
        if self.is_civitai(link) and re.search(r"\((401|403)\)", error):
            if headers:
                return (
                    "Civitai refused your API key. Check it on civitai.com (Account settings → "
                    "API Keys), paste it again, then Download."
                )
            return (
                "Civitai needs your API key for this model: paste it in the Civitai key field "
                "(civitai.com → Account settings → API Keys), then Download again."
            )
        return error

    def _update(self, key: str, **changes: Any) -> None:
        """From a coroutine: the row changes in a plain Qt callback (widgets follow it)."""
        self._ui.call(self._set, key, changes)

    def _set(self, key: str, changes: dict[str, Any]) -> None:
        rows = list(self.transfers)
        for i, row in enumerate(rows):
            if row.key == key:
                if row.ended and changes.get("state") not in (None, row.state):
                    return  # cancelled here: a late report does not bring it back
                rows[i] = replace(row, **changes)
        self.transfers = tuple(rows)

    def _ended(self, key: str) -> None:
        row = self.row(key)
        if row is None:
            return
        if row.state == "done":
            label = FOLDERS.get(row.folder, row.folder)
            self.message = f"{row.name} is on the server: it is among the {label} choices now."
            self.controller.refresh_models()
        elif row.state == "failed":
            self.message = row.error
        elif row.state == "cancelled":
            self.message = f"{row.name}: cancelled."

    def _report(self, error: BaseException) -> None:
        if isinstance(error, (UserError, ProviderError)):
            self.message = error.message
        else:
            log.error("model transfer failed", exc_info=error)
            self.message = f"Unexpected error: {type(error).__name__}"


def _salad(client: Any) -> Any:
    """The connected SaladCloud comfyui-api backend, or None."""
    config = getattr(client, "config", None)
    if getattr(config, "kind", "") == "salad" and hasattr(client, "add_model"):
        return client
    return None


def _link_name(link: str) -> str:
    """What to call a download until the pod knows the file's name."""
    parts = urlsplit(link)
    tail = unquote(parts.path.rstrip("/").rpartition("/")[2])
    return tail or parts.hostname or link


def by_hand_text(address: str, folder: str) -> str:
    """Where a model file goes on a server without the gateway, and how to copy it there."""
    parts = urlsplit(address if "://" in address else "//" + address)
    host = (parts.hostname or "").lower()
    label = FOLDERS.get(folder, folder)
    example = "my-" + label.lower().replace(" ", "-") + ".safetensors"
    intro = (
        "This server cannot receive models from the docker (only pods the plugin rents can): "
        f"copy the {label} file into its models folder by hand, then press Refresh."
    )
    if host.endswith(".proxy.runpod.net"):
        port = host.split(".", 1)[0].rpartition("-")[2]
        image = RUNPOD_PORTS.get(int(port)) if port.isdigit() else None
        where = f"{image.models_path}/{folder}" if image else f"/workspace/ComfyUI/models/{folder}"
        known = "" if image else " (or wherever this pod's ComfyUI keeps its models)"
        return (
            f"{intro}\nOn this pod the folder is {where}{known}. Copying over SSH needs the "
            "pod's public IP and port (RunPod: Connect → SSH over exposed TCP; see “Over SSH” in "
            f"docs/cloud-gpu.md), for example:\nscp -P <port> {example} root@<public IP>:{where}/"
        )
    where = f"ComfyUI/models/{folder}"
    if host in ("localhost", "127.0.0.1", "::1") or host.startswith("127."):
        return f"{intro}\nThis ComfyUI runs on this computer: put the file into its {where} folder."
    return (
        f"{intro}\nOn that server the folder is {where}, inside the folder ComfyUI is installed "
        f"in. Over SSH, for example (with the server's SSH port and user):\n"
        f"scp -P 22 {example} root@{host}:{where}/"
    )
