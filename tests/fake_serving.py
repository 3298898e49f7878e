"""Serving a fake: on the test's own event loop (:func:`serve`), or in its own process as the
CLI, Krita and the benchmarks meet it (:func:`fake_in_process`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent


async def serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, str]:
    """``app`` on loopback (a free port unless one is given); its runner and base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    actual = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{actual}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def fake_in_process(module: str, *options: str) -> Iterator[str]:
    """``python -m module --port N *options`` from the repository root; its URL once it
    accepts connections. The process is killed when the block ends."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *options],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


@contextlib.contextmanager
def gateway_in_process(comfy: str, models: Path, token: str, log: Path) -> Iterator[str]:
    """``python gateway.py`` in front of ``comfy`` as a pod starts it (the token in its
    environment only, its output in ``log``); its URL once it accepts connections."""
    from ai_diffusion.pod_gateway import PROGRAM

    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), "--comfy", comfy, "--host", "127.0.0.1",
             "--port", str(port), "--models", str(models)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "AI_DIFFUSION_GATEWAY_TOKEN": token},
        )  # fmt: skip
    try:
        _wait_for(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.kill()
        proc.wait(10)


def _wait_for(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the fake server on port {port} did not start in {seconds:.0f} s")
