"""In real Krita under Xvfb: the Cloud GPU panel against the RunPod and vast.ai stand-ins
(reached through the same address variables as the CLI), from renting a pod to ending it,
including the question when Krita closes and the offer at start."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    assert any(p.endswith(":3001/ws") for p in stand_ins.runpod.proxied), stand_ins.runpod.proxied
    assert any(p.endswith(":3001/prompt") for p in stand_ins.runpod.proxied)
    # Both terminations were asked, and nothing is left running or billed.
    asked = [d["title"] for d in dialogs(out)]
    assert asked == ["Terminate pod", "Terminate pod"]
    assert stand_ins.runpod.pods == {} and stand_ins.vast.instances == {}
    assert stand_ins.saved() == {}  # typed, never saved: not in the password store


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
    assert stand_ins.saved() == {"ai_diffusion/runpod_api_key": stand_ins.runpod.api_key}


def test_a_pod_left_running_is_offered_at_start(
    profile: KritaProfile, test_output: Path, stand_ins: StandIns
) -> None:
    """An earlier session saved the key and left a krita-* pod running."""
    stand_ins.keyring.write_text(
        json.dumps({"ai_diffusion/runpod_api_key": stand_ins.runpod.api_key})
    )
    stand_ins.runpod.pods["leftover01"] = {
        "id": "leftover01", "name": "krita-leftover", "image": "aclysia/sd-comfyui-krita:v1.53.0",
        "env": {}, "ports": ["3001/http", "22/tcp"], "status": "RUNNING",
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
    assert result["status"].startswith("Connected") and "/leftover01/3001" in result["url"]
    assert "krita-leftover" in result["bar"]
    assert stand_ins.runpod.pods == {}  # "Terminate it" when Krita closed
