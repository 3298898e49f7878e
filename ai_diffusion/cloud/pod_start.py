"""How a pod the plugin rents starts: the image's own start command, with the plugin's pod
gateway (``ai_diffusion/pod_gateway/gateway.py``) started beside ComfyUI first.

The gateway's source travels in the pod's environment (gzip, then base64), so nothing has to
be built into the image or fetched from elsewhere. The start command writes it to a file, picks
the first Python on the pod that can import aiohttp (ComfyUI's own venv has it), keeps the
gateway running, then runs the image's own start. Only the gateway's port is exposed; ComfyUI
stays inside the pod. The pod's token is made here, for each pod, and kept by the caller in the
password store; it reaches the pod in the environment, never on a command line.
"""

from __future__ import annotations

import base64
import gzip
import shlex

from .models import PodSpec, ServerImage, new_token

GATEWAY_PORT = 3100
SOURCE_ENV = "AI_DIFFUSION_GATEWAY"
TOKEN_ENV = "AI_DIFFUSION_GATEWAY_TOKEN"
GATEWAY_FILE = "/tmp/ai_diffusion_gateway.py"
# Where ComfyUI images keep the Python that runs ComfyUI (it has aiohttp); the system Python
# comes last.
PYTHONS = ("/opt/venv/bin/python", "/venv/bin/python", "/workspace/venv/bin/python",
           "/workspace/ComfyUI/venv/bin/python", "/ComfyUI/venv/bin/python", "python3",
           "python")  # fmt: skip


def pack(source: str) -> str:
    return base64.b64encode(gzip.compress(source.encode("utf-8"), mtime=0)).decode("ascii")


def unpack(packed: str) -> str:
    return gzip.decompress(base64.b64decode(packed)).decode("utf-8")


def start_script(image: ServerImage, port: int = GATEWAY_PORT) -> str:
    """The shell script the pod starts with (run by ``bash -c``)."""
    comfy = f"http://127.0.0.1:{image.port}"
    candidates = " ".join(shlex.quote(p) for p in PYTHONS)
    gateway = (f'"$py" {GATEWAY_FILE} --comfy {comfy} --port {port} '
               f"--models {shlex.quote(image.models_path)}")  # fmt: skip
    return "\n".join(
        [
            "py=''",
            f"for p in {candidates}; do",
            '  if command -v "$p" >/dev/null 2>&1 && "$p" -c "import aiohttp" 2>/dev/null; then',
            '    py="$p"; break',
            "  fi",
            "done",
            f'printf %s "${SOURCE_ENV}" | base64 -d | gunzip > {GATEWAY_FILE}',
            f'if [ -n "$py" ]; then (while true; do {gateway}; sleep 3; done) & '
            'else echo "ai_diffusion: no Python with aiohttp for the gateway" >&2; fi',
            # ComfyUI (and its custom nodes) need neither the token nor the program.
            f"unset {TOKEN_ENV} {SOURCE_ENV}",
            f"exec {image.start}",
        ]
    )


def pod_spec(image: ServerImage, gateway_source: str, **fields: object) -> PodSpec:
    """A new pod's spec with its own token: behind the gateway where the image's start is
    known, else with the image's own auth (``token_env``) if it has one."""
    if image.gateway:
        token = new_token()
        return PodSpec(
            image,
            token=token,
            start_args=f"bash -c {shlex.quote(start_script(image))}",
            port=GATEWAY_PORT,
            env={SOURCE_ENV: pack(gateway_source), TOKEN_ENV: token},
            **fields,  # type: ignore[arg-type]
        )
    return PodSpec(image, token=new_token() if image.token_env else None, **fields)  # type: ignore[arg-type]


def service_port(image: ServerImage) -> int:
    """The port the plugin talks to on a pod of ``image`` made by :func:`pod_spec`."""
    return GATEWAY_PORT if image.gateway else image.port
