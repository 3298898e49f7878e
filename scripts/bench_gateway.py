"""The pod gateway's transfers, measured (docs/gateway.md):

(a) a download from a host that caps each connection (as Hugging Face's and Civitai's CDNs
    do per stream): the gateway's ranged download with 8 connections against one stream;
(b) an upload from the painter's computer over a shaped link (scripts/link_shaper.py: a capped
    upstream with a round-trip delay) against the time the link's cap allows for the bytes.

Everything runs on loopback in separate processes: the fake ComfyUI, the model host
(tests/fakes/file_server.py) and ``python ai_diffusion/pod_gateway/gateway.py``.

    python scripts/bench_gateway.py [--size-mb 64] [--rate-mb 2] [--up-mbit 80]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from link_shaper import Link, LinkShaper  # noqa: E402

from ai_diffusion.cloud.gateway import GatewayClient  # noqa: E402
from ai_diffusion.pod_gateway import PROGRAM  # noqa: E402
from tests.fake_serving import _wait_for, fake_in_process, free_port  # noqa: E402
from tests.fakes.file_server import content, sha256  # noqa: E402

TOKEN = "bench-gateway-token-0123456789"
MB = 1e6


async def download(client: GatewayClient, url: str, name: str, digest: str, n: int) -> float:
    """Seconds from the request to the file in place (its checksum checked)."""
    began = time.monotonic()
    transfer_id = await client.download(url, "loras", filename=name, sha256=digest, connections=n)
    done = await client.wait(transfer_id, poll=0.05)
    assert done.state == "done", done
    return time.monotonic() - began


async def run(args: argparse.Namespace, gateway: str, files: str, models: Path) -> None:
    size = int(args.size_mb * MB)
    rate = args.rate_mb * MB
    async with GatewayClient.opened(gateway, TOKEN) as client:
        url = f"{files}/files/{size}/bench?rate={rate:.0f}"
        digest = sha256("bench", size)
        single = await download(client, url, "single.safetensors", digest, 1)
        ranged = await download(client, url, "ranged.safetensors", digest, 8)
        print(
            f"(a) download of {size / MB:.0f} MB, host capped at {args.rate_mb:g} MB/s per connection"
        )
        print(f"    one stream:     {single:6.1f} s  {size / single / MB:6.2f} MB/s")
        print(f"    8 connections:  {ranged:6.1f} s  {size / ranged / MB:6.2f} MB/s")
        print(f"    speed-up:       {single / ranged:6.2f}x  (ideal 8x; goal >= 3.5x)")

    link = Link(
        rtt_s=args.rtt_ms / 1000, up_bps=args.up_mbit * 1e6, down_bps=4 * args.up_mbit * 1e6
    )
    shaper = await LinkShaper("127.0.0.1", int(gateway.rsplit(":", 1)[1]), link).start()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "upload-bench.safetensors"
        up_size = int(args.upload_mb * MB)
        source.write_bytes(content("upload-bench", up_size))
        try:
            async with GatewayClient.opened(shaper.url, TOKEN) as client:
                began = time.monotonic()
                t = await client.upload(source, "checkpoints")
                took = time.monotonic() - began
        finally:
            await shaper.close()
    assert t.state == "done", t
    floor = up_size * 8 / link.up_bps
    print(f"(b) upload of {up_size / MB:.0f} MB over {link.describe()}")
    print(f"    took {took:.2f} s, the link allows {floor:.2f} s: "
          f"{up_size / took / MB:.2f} of {link.up_bps / 8 / MB:.2f} MB/s "
          f"({100 * (took / floor - 1):+.1f} %; goal within 10 %; includes hashing the file)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=64)
    parser.add_argument("--rate-mb", type=float, default=2, help="host's cap per connection")
    parser.add_argument("--upload-mb", type=float, default=64)
    parser.add_argument("--up-mbit", type=float, default=80, help="the link's upstream")
    parser.add_argument("--rtt-ms", type=float, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as models, fake_in_process("tests.fakes.comfy_server") as comfy, fake_in_process("tests.fakes.file_server") as files:  # fmt: skip
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, str(PROGRAM), "--comfy", comfy, "--host", "127.0.0.1",
             "--port", str(port), "--models", models],
            env={**os.environ, "AI_DIFFUSION_GATEWAY_TOKEN": TOKEN}, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            _wait_for(port)
            asyncio.run(run(args, f"http://127.0.0.1:{port}", files, Path(models)))
        finally:
            proc.kill()
            proc.wait(10)


if __name__ == "__main__":
    main()
