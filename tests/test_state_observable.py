"""Observable state fields: a change signal per field, bound to callbacks."""

from __future__ import annotations

import pytest

from ai_diffusion.state.observable import Observable, StateObject, bind


class Connection(StateObject):
    state: Observable[str] = Observable("disconnected")
    busy: Observable[bool] = Observable(False)


def test_bind_calls_now_and_on_each_change_of_that_field_only(qapp) -> None:
    connection = Connection()
    seen: list[str] = []
    bind(connection, "state", seen.append)
    connection.busy = True
    connection.state = "connecting"
    connection.state = "connecting"  # same value: no signal
    connection.state = "connected"
    assert seen == ["disconnected", "connecting", "connected"]


def test_fields_are_per_instance(qapp) -> None:
    a, b = Connection(), Connection()
    a.state = "error"
    assert b.state == "disconnected" and Connection.fields() == ["state", "busy"]


def test_unbind_and_unknown_field(qapp) -> None:
    connection = Connection()
    seen: list[bool] = []
    slot = bind(connection, "busy", seen.append)
    connection.changed.disconnect(slot)
    connection.busy = True
    assert seen == [False]
    with pytest.raises(AttributeError):
        bind(connection, "vram", print)
