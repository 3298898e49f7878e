"""Room for the docker on its first start (krita_adapter/dock_room.py), in a plain Qt main
window laid out like Krita's default workspace: a right column with the colour selector,
Layers and Brush Presets, and the new docker at the bottom, squeezed."""

from __future__ import annotations

from typing import Any

import pytest

from ai_diffusion.krita_adapter.dock_room import (
    LOOP_HEIGHT,
    TAB_AT,
    TRIES_MS,
    FirstStartRoom,
    make_room,
    share_column,
)
from ai_diffusion.qt import Qt, QtWidgets


def test_the_docker_grows_with_what_the_others_can_spare() -> None:
    heights, ours = share_column([(112, 112), (188, 140), (217, 140)], 124, 307)
    assert ours == 124 + 48 + 77
    assert heights == [112, 140, 140]
    assert sum(heights) + ours == 112 + 188 + 217 + 124  # the column keeps its height


def test_each_gives_in_proportion_to_what_it_can_spare_and_only_what_is_wanted() -> None:
    heights, ours = share_column([(300, 100), (400, 100), (150, 150)], 100, 250)
    assert (heights, ours) == ([240, 310, 150], 250)
    heights, ours = share_column([(301, 100), (400, 100)], 100, 201)
    assert ours == 201 and sum(heights) + ours == 301 + 400 + 100  # nothing lost to rounding
    assert share_column([(300, 100)], 400, 250) == ([300], 400)


def _dock(main: Any, name: str, minimum: int) -> Any:
    dock = QtWidgets.QDockWidget(name, main)
    dock.setObjectName(name)
    content = QtWidgets.QWidget(dock)
    content.setMinimumSize(240, minimum)
    dock.setWidget(content)
    main.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    return dock


def _krita_like(qtbot: Any, height: int, minimums: tuple[int, int, int]) -> tuple[Any, Any]:
    main = QtWidgets.QMainWindow()
    qtbot.addWidget(main)
    main.setCentralWidget(QtWidgets.QLabel("canvas"))
    for name, minimum in zip(
        ("ColorSelectorNg", "KisLayerBox", "PresetDocker"), minimums, strict=True
    ):
        _dock(main, name, minimum)
    ours = _dock(main, "ai_diffusion_docker", 60)
    main.resize(1366, height)
    main.show()
    qtbot.waitExposed(main)
    qtbot.wait(50)
    return main, ours


def _first_start(qtbot: Any, main: Any, dock: Any) -> None:
    """As FirstStartRoom does, with the layout settling between the tries."""
    for i in range(len(TRIES_MS)):
        assert make_room(main, dock, tab_if_squeezed=i == TAB_AT)  # beside others: settled
        qtbot.wait(50)


@pytest.mark.parametrize("minimums", [(110, 184, 118), (112, 185, 53)], ids=["5.1", "6.0"])
def test_on_a_laptop_screen_the_docker_gets_room_in_a_tab_beside_the_brush_presets(
    qtbot: Any, minimums: tuple[int, int, int]
) -> None:
    main, dock = _krita_like(qtbot, 700, minimums)
    assert dock.height() < LOOP_HEIGHT  # squeezed under the others, as Krita puts it
    _first_start(qtbot, main, dock)
    assert dock.height() >= LOOP_HEIGHT
    assert [d.objectName() for d in main.tabifiedDockWidgets(dock)] == ["PresetDocker"]
    assert not dock.visibleRegion().isEmpty()  # in front
    layers = main.findChild(QtWidgets.QDockWidget, "KisLayerBox")
    assert layers.isVisible() and not layers.visibleRegion().isEmpty()


def test_on_a_large_screen_the_docker_grows_without_a_tab(qtbot: Any) -> None:
    main, dock = _krita_like(qtbot, 1040, (110, 184, 118))
    _first_start(qtbot, main, dock)
    assert dock.height() >= LOOP_HEIGHT
    assert main.tabifiedDockWidgets(dock) == []


def test_a_docker_the_painter_closed_is_left_closed(qtbot: Any) -> None:
    main, dock = _krita_like(qtbot, 700, (110, 184, 118))
    dock.hide()
    _first_start(qtbot, main, dock)
    assert not dock.isVisible()
    assert main.tabifiedDockWidgets(dock) == []


def test_alone_in_its_column_the_docker_waits_for_the_others(qtbot: Any) -> None:
    """Krita 5.3 and 6 show the other dockers only with the first document."""
    main = QtWidgets.QMainWindow()
    qtbot.addWidget(main)
    main.setCentralWidget(QtWidgets.QLabel("canvas"))
    dock = _dock(main, "ai_diffusion_docker", 60)
    main.resize(1366, 700)
    main.show()
    qtbot.waitExposed(main)
    assert not make_room(main, dock, tab_if_squeezed=True)


def test_room_is_made_once_the_first_view_shows_the_other_dockers(qtbot: Any) -> None:
    """As in Krita 5.3 and 6: at start the docker is alone (the welcome page), the colour
    selector, Layers and Brush Presets show with the first document and squeeze it."""
    main, dock = _krita_like(qtbot, 700, (112, 185, 53))
    others = [d for d in main.findChildren(QtWidgets.QDockWidget) if d is not dock]
    for d in others:
        d.hide()
    qtbot.wait(50)
    made: list[bool] = []
    room = FirstStartRoom(main, dock, lambda: made.append(True))
    room.now()
    qtbot.wait(TRIES_MS[-1] + 200)
    assert made == []  # alone: nothing to settle yet, and still waiting
    for d in others:
        d.show()
    qtbot.wait(50)
    assert dock.height() < LOOP_HEIGHT
    room.view_created()
    qtbot.waitUntil(lambda: made == [True], timeout=TRIES_MS[-1] + 2000)
    assert dock.height() >= LOOP_HEIGHT
    room.view_created()  # later documents leave the layout alone
    qtbot.wait(TRIES_MS[-1] + 200)
    assert made == [True]
