"""Registration inside Krita: the extension (actions) and the docker factory.

This is the top of the plugin: it builds the state objects and widgets and hands them the
Krita document adapter. Nothing below imports it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from krita import (
    DockWidget,
    DockWidgetFactory,
    DockWidgetFactoryBase,
    Extension,
    Krita,
    Window,
)

from ..qt import Qt, QTimer, QtWidgets
from ..version import __version__
from .dock_room import FirstStartRoom

log = logging.getLogger(__name__)

DOCKER_ID = "ai_diffusion_docker"
DOCKER_TITLE = "AI Image Generation"
SETTINGS_GROUP = "ai_diffusion"  # in kritarc
INTRODUCED = "docker_introduced"
ROOM = "docker_room"  # "pending" from the first start until room was made, then "made"
ROOM_PENDING, ROOM_MADE = "pending", "made"

# id → (text shown in menus, method of the docker content that handles it)
ACTIONS = {
    "ai_diffusion_generate": ("Generate image", "generate"),
    "ai_diffusion_cancel": ("Cancel generation", "cancel"),
    "ai_diffusion_apply": ("Apply generated result", "apply_result"),
    "ai_diffusion_live": ("Start/stop live painting", "toggle_live"),
    "ai_diffusion_live_keep": ("Keep the live result as a layer", "keep_live"),
    "ai_diffusion_toggle_docker": ("Show/hide AI Image Generation", None),
}


class AIDiffusionExtension(Extension):
    def __init__(self, parent: Any) -> None:
        super().__init__(parent)

    def setup(self) -> None:
        log.info("ai_diffusion %s loaded", __version__)
        notifier = Krita.instance().notifier()
        notifier.setActive(True)
        notifier.windowCreated.connect(_window_created)

    def createActions(self, window: Window) -> None:
        for action_id, (text, handler) in ACTIONS.items():
            action = window.createAction(action_id, text, "tools/scripts")
            action.triggered.connect(lambda _=False, h=handler: _dispatch(h))


def _window_created() -> None:
    # The window's dockers exist once it is shown; wait for Qt to settle its layout first.
    QTimer.singleShot(0, introduce_docker)


def _docker_content() -> Any:
    for docker in Krita.instance().dockers():
        if docker.objectName() == DOCKER_ID:
            return docker
    return None


def _dispatch(handler: str | None) -> None:
    docker = _docker_content()
    if docker is None:
        return
    if handler is None:
        docker.setVisible(not docker.isVisible())
        return
    content = getattr(docker, "content", None) or docker.findChild(
        QtWidgets.QWidget, "ai_diffusion_content"
    )
    method = getattr(content, handler, None)
    if callable(method):
        method()


class AIDiffusionDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle(DOCKER_TITLE)
        self.content = _build_content(self)
        # The docker is taller than many screens: let it scroll instead of stretching Krita.
        scroll = QtWidgets.QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setWidget(self.content)
        self.setWidget(scroll)

    def canvasChanged(self, canvas: Any) -> None:
        handler = getattr(self.content, "canvas_changed", None)
        if callable(handler):
            handler()


def _build_content(parent: Any) -> Any:
    from ..cloud import ProviderEndpoints
    from ..logs import setup_file_logging
    from ..state.session import build_session
    from ..ui.docker_widget import DockerWidget
    from .document import KritaDocuments

    folder = Path(Krita.instance().getAppDataLocation()) / "ai_diffusion"
    try:
        setup_file_logging(folder / "logs")
        # The composition root: settings, secrets, connection, controller and pod controller
        # are built here (state/session.py) and handed to the widgets. The providers'
        # addresses come from the environment, as for the CLI (AI_DIFFUSION_RUNPOD_API…).
        endpoints = ProviderEndpoints.from_env(os.environ)
        session = build_session(KritaDocuments(), settings_dir=folder, providers=endpoints.provider)
        content = DockerWidget(session, parent)
        _watch_cloud_costs(content)
        return content
    except Exception as e:  # the docker must show, with the reason, even when setup fails
        log.exception("docker setup failed")
        label = QtWidgets.QLabel(
            f"AI Image Generation could not start: {e}\n"
            f"Please report this with the log file in {folder / 'logs'}.",
            parent,
        )
        label.setWordWrap(True)
        return label


def _watch_cloud_costs(content: Any) -> None:
    """A pod costs money while it runs: ask when the docker's window closes (Krita's
    applicationClosing comes after the docker is gone), and offer at start the pods an
    earlier session left running."""
    from ..ui.pod_panel import AskBeforeClosing

    panel, pods = content.pod_panel, content.pods
    guard = AskBeforeClosing(panel)

    def watch_window() -> None:  # the docker is put into its window after it is built
        try:
            window = content.window()
        except RuntimeError:  # this docker's window is already gone
            return
        if window is not content and window.property("ai_diffusion_asks") is None:
            window.installEventFilter(guard)
            window.setProperty("ai_diffusion_asks", True)

    notifier = Krita.instance().notifier()
    notifier.setActive(True)
    notifier.windowCreated.connect(watch_window)
    QTimer.singleShot(0, watch_window)
    # Queued: the offer is a modal dialog (a nested event loop) and the signal comes from a
    # coroutine; it must open as a plain Qt callback, never inside a task step (handover.py).
    pods.orphans_found.connect(panel.offer_orphans, Qt.ConnectionType.QueuedConnection)
    QTimer.singleShot(5000, pods.check_orphans)


def dock_right() -> Any:
    """``DockWidgetFactoryBase.DockPosition.DockRight``: scoped, as PyQt6 (Krita 6) requires;
    Krita 5's bindings may only have the unscoped name."""
    position = getattr(DockWidgetFactoryBase, "DockPosition", None)
    value = getattr(position, "DockRight", None)
    # not in the stub on purpose: only Krita 5 has the unscoped name
    return value if value is not None else getattr(DockWidgetFactoryBase, "DockRight")  # noqa: B009


def introduce_docker(window: Window | None = None) -> bool:
    """Krita 5.3 and 6 start a newly installed docker hidden (5.1 shows it). On the first
    start after installing, show ours once, with room for the painting loop (dock_room.py)
    once Krita shows its other dockers (5.3 and 6: with the first document, which may come in
    a later session); afterwards the painter's choice (Settings › Dockers) and layout are
    kept. Returns True when it was shown now."""
    app = Krita.instance()
    introduced = app.readSetting(SETTINGS_GROUP, INTRODUCED, "") == "true"
    if introduced and app.readSetting(SETTINGS_GROUP, ROOM, "") != ROOM_PENDING:
        return False
    window = window or app.activeWindow()
    if window is None:
        return False
    main: Any = window.qwindow()
    dock = main.findChild(QtWidgets.QDockWidget, DOCKER_ID) if main is not None else None
    if dock is None:
        return False
    if not introduced:
        if main.dockWidgetArea(dock) == Qt.DockWidgetArea.NoDockWidgetArea:
            main.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.show()
        dock.raise_()
        app.writeSetting(SETTINGS_GROUP, INTRODUCED, "true")
        app.writeSetting(SETTINGS_GROUP, ROOM, ROOM_PENDING)
        log.info("showed the docker on its first start")
    room = FirstStartRoom(  # a child of the dock: lives as long as it
        main,
        dock,
        lambda: app.writeSetting(SETTINGS_GROUP, ROOM, ROOM_MADE),
        show_with_view=introduced,  # the first start ended before a document: show it now
    )
    room.now()
    # Krita 5.3 and 6 show the other dockers only with the first document's view.
    app.notifier().viewCreated.connect(room.view_created)
    return not introduced


def register() -> None:
    app = Krita.instance()
    app.addExtension(AIDiffusionExtension(app))
    app.addDockWidgetFactory(DockWidgetFactory(DOCKER_ID, dock_right(), AIDiffusionDocker))
