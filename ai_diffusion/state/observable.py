"""Observable state fields without hand-written signal pairs.

A class derived from :class:`StateObject` declares its fields as :class:`Observable`
descriptors; assigning a different value emits ``changed(name, value)``. Widgets follow one
field with :func:`bind`, which calls them once with the current value and again on every
change of that field only::

    class Connection(StateObject):
        state = Observable("disconnected")

    bind(connection, "state", label.setText)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from ..qt import QObject, Signal

T = TypeVar("T")


class Observable(Generic[T]):
    """A state field with a default; setting it to a different value emits ``changed``."""

    def __init__(self, default: T) -> None:
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Observable[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...
    def __get__(self, obj: object | None, owner: type) -> Any:
        if obj is None:
            return self
        return obj.__dict__.get(self.name, self.default)

    def __set__(self, obj: Any, value: T) -> None:
        if obj.__dict__.get(self.name, self.default) == value:
            return
        obj.__dict__[self.name] = value
        obj.changed.emit(self.name, value)


class StateObject(QObject):
    """Base of the state objects: one ``changed(field name, new value)`` signal for all fields."""

    changed = Signal(str, object)

    @classmethod
    def fields(cls) -> list[str]:
        return [
            name
            for klass in cls.__mro__
            for name, value in vars(klass).items()
            if isinstance(value, Observable)
        ]


def bind(state: StateObject, name: str, callback: Callable[[Any], Any]) -> Callable[..., None]:
    """Call ``callback(value)`` now and whenever field ``name`` of ``state`` changes.

    Returns the connected slot (pass it to ``state.changed.disconnect`` to unbind).
    """
    if name not in state.fields():
        raise AttributeError(f"{type(state).__name__} has no observable field {name!r}")

    def on_change(changed: str, value: Any) -> None:
        if changed == name:
            callback(value)

    state.changed.connect(on_change)
    callback(getattr(state, name))
    return on_change
