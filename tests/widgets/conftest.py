import asyncio
from collections.abc import Iterator

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/widgets/" in str(item.fspath):
            item.add_marker(pytest.mark.widgets)


@pytest.fixture
def qt_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    """asyncio on the Qt event loop, as inside Krita (the loop "runs" while Qt processes
    events); removed afterwards so other tests get plain asyncio again."""
    from ai_diffusion import eventloop

    loop = eventloop.install(qapp, already_running=True)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop._after_run_forever()  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    asyncio.set_event_loop(None)
    loop.close()
