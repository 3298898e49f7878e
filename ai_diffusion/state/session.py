"""The state objects of one docker, built together and wired to each other.

``krita_adapter/plugin.py`` (inside Krita) and the tests build a :class:`Session`; the
widgets are handed it and bind to its parts. Who owns what:

- ``settings`` / ``secrets``: where choices and secrets persist (the file, the key store);
- ``connection``: address, login, TLS, kind of server, pod link (``state/connection.py``);
- ``controller``: the live connection, jobs and results per document (``state/controller.py``);
- ``pods``: the Cloud GPU pod, its cost and idle auto-stop (``state/pods.py``);
- ``live``: live painting (``state/live.py``);
- ``model_choice``: the model, its family, pieces, sampling values and Edit mode
  (``state/model_choice.py``);
- ``model_transfers``: new models onto the connected server, by link or from the disk
  (``state/model_transfers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..qt import Qt
from ..secrets import SecretStore
from ..settings import Settings
from .connection import Connection
from .controller import Connector, Controller
from .document import DocumentSource
from .live import LiveMode
from .model_choice import ModelChoice
from .model_transfers import ModelTransfers
from .no_documents import NoDocuments
from .pods import PodController, ProviderFactory, default_factory
from .workflow_mode import WorkflowMode


@dataclass
class Session:
    settings: Settings
    secrets: SecretStore
    connection: Connection
    controller: Controller
    pods: PodController
    live: LiveMode
    model_choice: ModelChoice
    model_transfers: ModelTransfers
    settings_dir: Path | None = None

    def __post_init__(self) -> None:  # the Workflow mode (state/workflow_mode.py)
        self.workflow = WorkflowMode(self.controller, self.settings_dir)

    def connect(self) -> Any:
        """Connect with what the connection holds (or say in ``message`` what is missing)."""
        self.connection.save()
        try:
            config = self.connection.config()
        except Exception as e:
            self.controller.connection_message = getattr(e, "message", str(e))
            self.controller.state = "error"
            return None
        return self.controller.connect_server(config)

    def connect_to_pod(self, url: str, token: str) -> Any:
        """A cloud pod is ready: point the connection at it and connect."""
        self.connection.use_pod(url, token, pod_label(self.pods))
        return self.connect()

    def pod_released(self) -> Any:
        """The pod the connection points at stopped or ended: disconnect rather than keep
        trying to reconnect to it. (Runs as a queued Qt callback: the signal comes from a
        coroutine.)"""
        live = self.controller.state in ("connecting", "connected", "reconnecting")
        if live and self.connection.pod:
            return self.controller.disconnect_server()
        return None

    def save(self) -> None:
        self.connection.save()
        if self.settings_dir is not None:
            self.settings.save(self.settings_dir)


def pod_label(pods: PodController) -> str:
    pod = pods.pod
    if pod is None:
        return "Cloud GPU"
    provider = {"runpod": "RunPod", "vast": "vast.ai"}.get(pod.provider, pod.provider)
    text = f"{provider} {pod.gpu_name}".strip()
    return f"{text} · ${pod.price_per_hour:.2f}/h" if pod.price_per_hour else text


def build_session(
    documents: DocumentSource | None = None,
    settings_dir: Path | None = None,
    secrets: SecretStore | None = None,
    connector: Connector | None = None,
    pods: PodController | None = None,
    providers: ProviderFactory = default_factory,
) -> Session:
    """Everything the docker needs. Inside Krita the plugin passes Krita's documents, the
    app-data folder and ``providers`` (the cloud providers at the addresses from the
    environment, ``ProviderEndpoints.provider``); tests pass doubles (``connector`` stands in
    for ``connect_backend``, ``pods`` for the cloud controller built over ``providers``)."""
    settings = Settings.load(settings_dir) if settings_dir is not None else Settings()
    secrets = secrets or SecretStore()
    connection = Connection(settings, secrets, settings_dir)
    controller = Controller(documents or NoDocuments(), connector)
    pods = pods or PodController(secrets, providers, idle_minutes=settings.idle_stop_minutes)
    live = LiveMode(controller, debounce_ms=settings.live_debounce_ms)
    model_choice = ModelChoice(settings.model_overrides)
    transfers = ModelTransfers(controller, secrets)
    session = Session(
        settings, secrets, connection, controller, pods, live, model_choice, transfers, settings_dir
    )
    # Queued: both come from coroutines, and what they do reaches widgets (handover.py).
    pods.ready.connect(session.connect_to_pod, Qt.ConnectionType.QueuedConnection)
    # A starter model landed on the pod: the lists show it (the server rescans its folders).
    pods.models_landed.connect(controller.refresh_models, Qt.ConnectionType.QueuedConnection)
    pods.released.connect(session.pod_released, Qt.ConnectionType.QueuedConnection)

    # Idle auto-stop counts from the end of the last job, live painting's included.
    def busy(name: str, _value: object) -> None:
        if name == "busy":
            pods.job_busy(controller.busy or live.busy)

    controller.changed.connect(busy)
    live.changed.connect(busy)
    return session


def connection_line(session: Session) -> str:
    """One line for the connected panel: "● RunPod RTX 4090 · $0.69/h · 12 models" — never
    the address with a password in it (the address holds none)."""
    c = session.controller
    if c.state not in ("connected", "reconnecting"):
        return "○ " + (c.connection_message or "Not connected.")
    from .connection import host_of

    where = session.connection.pod or c.device or host_of(session.connection.address)
    parts = [where]
    client = c.client
    models = getattr(getattr(client, "models", None), "checkpoints", None)
    if models is not None:
        parts.append(f"{len(models)} model{'s' if len(models) != 1 else ''}")
    dot = "◐" if c.state == "reconnecting" else "●"
    return f"{dot} " + " · ".join(p for p in parts if p)
