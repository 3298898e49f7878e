"""A token or password given to the command line never appears in its output, its errors or
its verbose log, for each way of giving it."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.comfy_fixtures import fake_process
from tests.test_cli_generate import BASE, cli

TOKEN = "tok-cli-31415926"
USER, PASSWORD = "painter", "pw-cli-27182818"


@pytest.mark.parametrize(
    ("fake", "server_options", "env", "secret"),
    [
        (("--token", TOKEN), ("--token", TOKEN), {}, TOKEN),
        (("--token", TOKEN), (), {"AI_DIFFUSION_TOKEN": TOKEN}, TOKEN),
        (("--basic", f"{USER}:{PASSWORD}"), (), {}, PASSWORD),
    ],
    ids=["--token", "environment", "user:password in the address"],
)
def test_secrets_stay_out_of_output_errors_and_log(
    tmp_path: Path, fake: tuple[str, ...], server_options: tuple[str, ...],
    env: dict[str, str], secret: str,
) -> None:  # fmt: skip
    forms = [secret, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with fake_process(*fake) as url:
            if "--basic" in fake:
                url = url.replace("http://", f"http://{USER}:{PASSWORD}@")
            ok = cli("-v", "generate", "--server", url, *server_options, *BASE,
                     "--width", "64", "--out", str(tmp_path))  # fmt: skip
            assert ok.returncode == 0, ok.stderr
            assert "connected to" in ok.stderr  # the verbose log was on
            refused = cli("-v", "generate", "--server", url, *server_options, *BASE,
                          "--checkpoint", "no-such-model.safetensors", "--out", str(tmp_path))  # fmt: skip
            assert refused.returncode != 0 and "no-such-model" in refused.stderr
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    for result in (ok, refused):
        for form in forms:
            assert form not in result.stdout + result.stderr
