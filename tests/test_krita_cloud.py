"""In real Krita under Xvfb: the Cloud GPU panel against the RunPod and vast.ai stand-ins
(reached through the same address variables as the CLI), from renting a pod to ending it,
including the question when Krita closes and the offer at start."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ai_diffusion.cloud.pod_start import GATEWAY_PORT, TOKEN_ENV
from tests.fake_serving import fake_in_process, gateway_in_process
from tests.fakes.runpod_server import FakeRunPod
from tests.fakes.vast_server import FakeVast
from tests.krita.harness import KritaProfile, run_gui
from tests.krita_fixtures import profile_fixture
from tests.test_cli_pod import ThreadServers

pytestmark = [
    pytest.mark.krita,
    pytest.mark.timeout(400),  # Krita starts, rents, generates and quits: slow on a busy machine
]

# Krita's Python finds no password store under Xvfb (no Secret Service): the profile's keyring
# configuration names a file-backed one (tests/krita/krita_test_keyring.py), so that Save key
# and a later start's saved key behave as on a painter's system. A file, not an environment
# variable: it reaches the Kritas in chroots too.
KEYRING_CONFIG = "[backend]\ndefault-keyring = krita_test_keyring.FileKeyring\n"


def _use_file_keyring(profile: KritaProfile) -> None:
    config = Path(profile.env["XDG_CONFIG_HOME"]) / "python_keyring"
    config.mkdir(parents=True, exist_ok=True)
    (config / "keyringrc.cfg").write_text(KEYRING_CONFIG)


profile = profile_fixture("cloud", "profile", prepare=_use_file_keyring)


class StandIns:
    def __init__(self, comfy_url: str, keyring: Path) -> None:
        self.servers = ThreadServers()
        self.runpod = FakeRunPod(comfy_url=comfy_url)
        self.vast = FakeVast(comfy_port=int(comfy_url.rsplit(":", 1)[1]))
        self.keyring = keyring
        proxy = self.servers.serve(self.runpod.proxy_app())
        self.env = {
            "AI_DIFFUSION_RUNPOD_API": self.servers.serve(self.runpod.app()),
            "AI_DIFFUSION_RUNPOD_PROXY": self.runpod.proxy_template(proxy),
            "AI_DIFFUSION_VAST_API": self.servers.serve(self.vast.app()),
            # for the scenario to type, as a painter pastes the key
            "AI_DIFFUSION_TEST_RUNPOD_KEY": self.runpod.api_key,
            "AI_DIFFUSION_TEST_VAST_KEY": self.vast.api_key,
            "AI_DIFFUSION_TEST_KEYRING": str(keyring),  # the file of krita_test_keyring
        }

    def saved(self) -> dict[str, str]:
        return json.loads(self.keyring.read_text()) if self.keyring.exists() else {}


@pytest.fixture
def stand_ins(fake_server: str, profile: KritaProfile) -> Iterator[StandIns]:
    keyring = profile.base / "keyring.json"  # under /tmp: a chrooted Krita sees it too
    keyring.unlink(missing_ok=True)
    stand_ins = StandIns(fake_server, keyring)
    yield stand_ins
    stand_ins.servers.close()


def api_keys(saved: dict[str, str]) -> dict[str, str]:
    """The providers' API keys among the saved secrets."""
    return {k: v for k, v in saved.items() if k.endswith("_api_key")}


def dialogs(out: Path) -> list[dict]:
    path = out / "dialogs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _gui(profile: KritaProfile, scenario: str, out: Path, stand_ins: StandIns) -> dict:
    (out / "dialogs.jsonl").unlink(missing_ok=True)
    result = run_gui(profile, f"scenarios_cloud:{scenario}", out, extra_env=stand_ins.env)
    assert result["exceptions"] == "", result["exceptions"]
    assert result["log_errors"] == [], result["log_errors"]
    assert result["ok"], result.get("error")
    return result


def test_rent_generate_and_terminate_on_both_providers(
    profile: KritaProfile, test_output: Path, stand_ins: StandIns
) -> None:
    out = test_output / f"gui-cloud-{profile.krita.name}"
    result = _gui(profile, "rent_generate_terminate", out, stand_ins)
    for provider in ("runpod", "vast"):
        assert result[f"{provider}_gpus"] and "/h" in result[f"{provider}_gpus"][0]
        assert result[f"{provider}_states"][0] == "provisioning"
        assert result[f"{provider}_states"][-1] == "ready"
        assert result[f"{provider}_status"].startswith("Connected"), result[f"{provider}_status"]
        assert "/h" in result[f"{provider}_bar"] and "spent" in result[f"{provider}_bar"]
        assert result[f"{provider}_results"] == 1
        assert "terminated" in result[f"{provider}_after_terminate"]
        assert result[f"{provider}_status_after_terminate"] == "Disconnected."
    # The docker reached ComfyUI through the RunPod proxy, its websocket included.
    proxy = stand_ins.env["AI_DIFFUSION_RUNPOD_PROXY"].split("{pod_id}")[0]
    assert result["runpod_url"].startswith(proxy), result["runpod_url"]
    assert any(p.endswith(f":{GATEWAY_PORT}/ws") for p in stand_ins.runpod.proxied), (
        stand_ins.runpod.proxied
    )
    assert any(p.endswith(f":{GATEWAY_PORT}/prompt") for p in stand_ins.runpod.proxied)
    # Both terminations were asked, and nothing is left running or billed.
    asked = [d["title"] for d in dialogs(out)]
    assert asked == ["Terminate pod", "Terminate pod"]
    assert stand_ins.runpod.pods == {} and stand_ins.vast.instances == {}
    # The keys were typed, never saved: not in the password store (each pod's own token is,
    # by design: see state/pods.py).
    assert api_keys(stand_ins.saved()) == {}


def test_closing_krita_with_a_pod_running_asks_and_stops_it(
    profile: KritaProfile, test_output: Path, stand_ins: StandIns
) -> None:
    out = test_output / f"gui-cloud-exit-{profile.krita.name}"
    result = _gui(profile, "exit_with_a_pod_running", out, stand_ins)
    asked = dialogs(out)
    assert [d["title"] for d in asked] == ["A cloud GPU is still running"], asked
    assert "per hour" in asked[0]["text"]
    assert {"Stop it", "Terminate it", "Keep it running"} <= set(asked[0]["buttons"])
    pod = stand_ins.runpod.pods[result["pod_id"]]
    assert pod["status"] == "EXITED" and pod["cost"] == 0.0
    assert api_keys(stand_ins.saved()) == {"ai_diffusion/runpod_api_key": stand_ins.runpod.api_key}


def test_a_pod_left_running_is_offered_at_start(
    profile: KritaProfile, test_output: Path, stand_ins: StandIns
) -> None:
    """An earlier session saved the key and left a krita-* pod running (behind its gateway:
    that session kept the pod's token too)."""
    stand_ins.keyring.write_text(
        json.dumps({"ai_diffusion/runpod_api_key": stand_ins.runpod.api_key,
                    "ai_diffusion/pod_token:runpod:leftover01": "leftover-pod-token-0123456789"})
    )  # fmt: skip
    stand_ins.runpod.pods["leftover01"] = {
        "id": "leftover01", "name": "krita-leftover", "image": "aclysia/sd-comfyui-krita:v1.53.0",
        "env": {}, "ports": [f"{GATEWAY_PORT}/http", "22/tcp"], "status": "RUNNING",
        "actions": ["stop", "restart", "terminate"], "gpu": {"id": "NVIDIA RTX A5000", "count": 1},
        "cost": 0.27, "runtime": {}, "price": 0.27,
    }  # fmt: skip
    out = test_output / f"gui-cloud-orphan-{profile.krita.name}"
    result = _gui(profile, "orphan_offer_at_start", out, stand_ins)
    asked = dialogs(out)
    assert [d["title"] for d in asked] == [
        "Cloud GPUs still running",
        "A cloud GPU is still running",
    ], asked
    assert "krita-leftover ($0.27/h)" in asked[0]["text"]
    assert result["status"].startswith("Connected")
    assert f"/leftover01/{GATEWAY_PORT}" in result["url"]  # the gateway's port, as made
    assert "krita-leftover" in result["bar"]
    assert stand_ins.runpod.pods == {}  # "Terminate it" when Krita closed


# Models onto a rented pod -------------------------------------------------------------------------

LORA = "pod-style-lora.safetensors"


@pytest.fixture
def pod_gateway(profile: KritaProfile, tmp_path: Path) -> Iterator[StandIns]:
    """The stand-ins, where a created RunPod pod really runs the pod gateway (with the token
    the plugin put in the create body's env) in front of a fake ComfyUI that lists the models
    folder the gateway writes to; and a model host for the LoRA's link."""
    models = tmp_path / "pod-models"
    models.mkdir()
    keyring = profile.base / "keyring.json"
    keyring.unlink(missing_ok=True)
    with contextlib.ExitStack() as stack:
        comfy = stack.enter_context(fake_in_process("tests.fakes.comfy_server", "--models", str(models)))  # fmt: skip
        files = stack.enter_context(fake_in_process("tests.fakes.file_server"))
        stand_ins = StandIns(comfy, keyring)
        stack.callback(stand_ins.servers.close)
        logs: list[Path] = []

        def start_gateway(pod: dict[str, Any]) -> None:  # as the pod's start command does
            log = tmp_path / f"gateway-{pod['id']}.log"
            logs.append(log)
            token = pod["env"][TOKEN_ENV]
            stand_ins.runpod.comfy_url = stack.enter_context(
                gateway_in_process(comfy, models, token, log)
            )
            stand_ins.tokens.append(token)

        stand_ins.runpod.on_create = start_gateway
        stand_ins.tokens = []  # type: ignore[attr-defined]
        stand_ins.comfy, stand_ins.models, stand_ins.logs = comfy, models, logs  # type: ignore[attr-defined]
        stand_ins.env["AI_DIFFUSION_TEST_LORA_URL"] = (
            f"{files}/files/{2 * 2**20}/{LORA}?rate=1000000"
        )
        yield stand_ins


def test_add_a_lora_by_link_to_a_rented_pod_and_generate_with_it(
    profile: KritaProfile, test_output: Path, pod_gateway: StandIns
) -> None:
    stand_ins: Any = pod_gateway
    out = test_output / f"gui-cloud-models-{profile.krita.name}"
    result = _gui(profile, "rent_add_lora_generate", out, stand_ins)
    assert len(stand_ins.tokens) == 1 and len(stand_ins.tokens[0]) >= 16
    assert result["gateway"] == "yes", result
    assert result["guessed_folder"] == "loras"
    assert "ready" in result["transfer"], result["transfer"]
    assert result["lora_offered"] and result["loras"] == [LORA]
    assert result["runpod_results"] == 1
    assert (stand_ins.models / "loras" / LORA).stat().st_size == 2 * 2**20
    # Through the pod's proxy address, behind its token: the download and the job.
    proxied = stand_ins.runpod.proxied
    assert any(p.endswith("/gateway/models/download") for p in proxied), proxied
    assert any(p.endswith("/prompt") for p in proxied)
    # ComfyUI ran the job with the new LoRA.
    with urllib.request.urlopen(stand_ins.comfy + "/history", timeout=10) as answer:
        history = json.load(answer)
    graphs = [entry["prompt"][2] for entry in history.values()]
    used = [n["inputs"].get("lora_name") for g in graphs for n in g.values()]
    assert LORA in used, used
    assert stand_ins.runpod.pods == {}  # terminated
    for log in stand_ins.logs:
        assert stand_ins.tokens[0] not in log.read_text()
