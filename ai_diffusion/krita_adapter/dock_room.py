"""Room for the docker on the first start after installing, in the painter's window.

What Krita does (measured in Krita 5.1, 5.3 and 6.0 at 1366×768, default workspace): a new
docker goes at the bottom of the right column, under the colour selector, Layers and the
Brush Presets. Krita 5.3 and 6 show that column only once a document is open (the welcome
page has none), so room made at start is undone by the first view: ours ends 120-130 px tall.
In Krita 5.1 the other dockers' smallest heights (110 + 184 + 118 px) leave ours at most
about 224 px at 1366×768, too little for the loop; in 5.3 and 6 the Brush Presets could go
down to 53 px, which shows no preset at all. So the others keep ``KEEP`` px each, and where
that leaves too little, ours goes in a tab beside the Brush Presets, in front, and that tab
group is made taller (the presets stay one click away, and in the toolbar).

Only Qt here (no ``krita``): the main window and the dock widget are handed in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..qt import QObject, Qt, QTimer, QtWidgets

log = logging.getLogger(__name__)

# The connected docker's title, connection line, model, prompt, Generate, strength and the
# results strip (measured in 5.1, 5.3 and 6.0: the strip ends 270 px below the dock's top).
LOOP_HEIGHT = 280
SHARE = 0.33  # of the window's height, where the column has that to give (never < LOOP_HEIGHT)
KEEP = 140  # untabbed, the others keep this much (or what they had, if less)
TAB_BESIDE = "PresetDocker"  # Brush Presets: also in the toolbar, unlike Layers
# After Krita shows its dockers (the first view) its layout settles over a few event loops;
# the tab (when needed) comes at the third try, the last two size its group.
TRIES_MS = (0, 400, 1200, 1700, 2500)
TAB_AT = 2


def share_column(others: list[tuple[int, int]], ours: int, wanted: int) -> tuple[list[int], int]:
    """New heights for a column: ``others`` as (height, floor), ``ours`` the docker's height.
    Ours grows towards ``wanted`` with what the others can spare above their floor, each
    giving in proportion to what it can spare; the column's total stays the same."""
    spare = [max(0, h - f) for h, f in others]
    give = min(max(0, wanted - ours), sum(spare))
    if give == 0:
        return [h for h, _ in others], ours
    gifts = [give * s // sum(spare) for s in spare]
    for i in sorted(range(len(spare)), key=lambda i: -spare[i]):  # what rounding left
        extra = min(give - sum(gifts), spare[i] - gifts[i])
        gifts[i] += extra
    return [h - g for (h, _), g in zip(others, gifts, strict=True)], ours + give


def _min_height(dock: Any) -> int:
    return int(max(dock.minimumHeight(), dock.minimumSizeHint().height()))


def _tab_bar_height(main: Any, dock: Any) -> int:
    """The height of the tab bar over ``dock`` when it is in a tab group (else 0): the group
    is what the column sizes."""
    title = dock.windowTitle()
    for bar in main.findChildren(QtWidgets.QTabBar):
        if bar.isVisible() and any(bar.tabText(i) == title for i in range(bar.count())):
            return int(bar.height())
    return 0


def column_of(main: Any, dock: Any) -> list[Any]:
    """The other dockers shown in ``dock``'s column (the front tab of each tab group)."""
    area, frame = main.dockWidgetArea(dock), main.rect()
    left, right = dock.x(), dock.x() + dock.width()
    return [
        d
        for d in main.findChildren(QtWidgets.QDockWidget)
        if d is not dock
        and d.isVisible()
        and not d.isFloating()
        and main.dockWidgetArea(d) == area
        and frame.intersects(d.geometry())
        and d.x() < right
        and left < d.x() + d.width()
    ]


def make_room(main: Any, dock: Any, tab_if_squeezed: bool = False) -> bool:
    """Make ``dock`` tall enough for the loop: ``SHARE`` of the window where its column can
    give that with the others keeping ``KEEP`` px; where that leaves it under ``LOOP_HEIGHT``
    and ``tab_if_squeezed``, put it in a tab beside the Brush Presets (or the tallest docker
    of its column), in front. A docker in a tab group grows with the others down to their
    smallest size (the group's other dockers are one click away).

    Returns False while the docker is alone in its column (Krita 5.3 and 6 before the first
    view): the room it has then is not the room it will have."""
    if not dock.isVisible() or dock.isFloating():
        return True  # the painter closed or floated it: theirs now
    column = column_of(main, dock)
    if not column:
        return False
    wanted = max(LOOP_HEIGHT, int(main.height() * SHARE))
    if dock.height() >= wanted:
        return True
    tabbed = bool(main.tabifiedDockWidgets(dock))
    floors = [
        _min_height(d) if tabbed else max(_min_height(d), min(d.height(), KEEP)) for d in column
    ]
    bar = _tab_bar_height(main, dock) if tabbed else 0
    heights, ours = share_column(
        [(d.height(), f) for d, f in zip(column, floors, strict=True)],
        dock.height() + bar,
        wanted + bar,
    )
    ours -= bar
    if ours > dock.height():
        log.info("docker made taller on its first start: %d → %d px", dock.height(), ours)
        main.resizeDocks([*column, dock], [*heights, ours + bar], Qt.Orientation.Vertical)
    if tabbed or not tab_if_squeezed or ours >= LOOP_HEIGHT:
        return True
    presets = [d for d in column if d.objectName() == TAB_BESIDE]
    neighbour = presets[0] if presets else max(column, key=lambda d: d.height())
    main.tabifyDockWidget(neighbour, dock)
    dock.show()
    dock.raise_()
    log.info("docker put in a tab beside %s to have room", neighbour.objectName())
    return True


class FirstStartRoom(QObject):
    """Makes room now and again once Krita has shown its dockers (the first view), then
    calls ``done`` and leaves the layout to the painter. A child of the dock: it lives as
    long as the dock.

    ``show_with_view``: a later session whose first start ended before any document (Krita
    5.3 and 6 then restore the docker hidden): show it with the first document."""

    def __init__(
        self, main: Any, dock: Any, done: Callable[[], None], show_with_view: bool = False
    ) -> None:
        super().__init__(dock)
        self.main, self.dock, self.done = main, dock, done
        self.show_with_view = show_with_view
        self.view_seen = self.finished = False

    def now(self) -> None:
        if not self.show_with_view:
            self._settle()

    def view_created(self, *_: Any) -> None:
        """Krita 5.3 and 6 show the column's other dockers with the first view."""
        if self.view_seen or self.finished:
            return
        self.view_seen = True
        self._settle()

    def _settle(self) -> None:
        for i in range(len(TRIES_MS)):
            QTimer.singleShot(TRIES_MS[i], lambda i=i: self._try(i))

    def _try(self, i: int) -> None:
        if self.finished:
            return
        try:
            if self.show_with_view and i <= TAB_AT and not self.dock.isVisible():
                self.dock.show()
                self.dock.raise_()
            settled = make_room(self.main, self.dock, tab_if_squeezed=i == TAB_AT)
        except RuntimeError:  # the window (or the docker) is gone
            return
        if settled and i == len(TRIES_MS) - 1:
            self.finished = True
            self.done()
