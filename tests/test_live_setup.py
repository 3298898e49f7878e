"""Few-step settings for live painting, per model family and what the server has."""

from __future__ import annotations

from ai_diffusion.request import LoraRef
from ai_diffusion.state.live import poll_interval
from ai_diffusion.workflow.live import live_setup
from tests.comfy_fixtures import object_info

SD15_LCM = "lcm-lora-sdv1-5.safetensors"
XL_LIGHTNING = "sdxl_lightning_4step_lora.safetensors"


def test_distilled_checkpoints_are_recognised_and_not_slow() -> None:
    turbo = live_setup("sd_xl_turbo_1.0_fp16.safetensors", [])
    assert turbo.accelerator == "Turbo" and turbo.sampling.steps <= 4
    assert turbo.sampling.cfg == 1.0 and turbo.slow == "" and turbo.loras == ()
    schnell = live_setup("flux1-schnell-fp8.safetensors", [])
    assert schnell.accelerator == "Flux Schnell" and schnell.sampling.steps == 4


def test_an_acceleration_lora_of_the_same_family_is_used() -> None:
    setup = live_setup("dreamshaper_8.safetensors", [XL_LIGHTNING, SD15_LCM])
    assert setup.loras == (LoraRef(SD15_LCM, 1.0),) and setup.sampling.sampler == "lcm"
    assert setup.slow == ""
    xl = live_setup("juggernautXL_v9.safetensors", [SD15_LCM, XL_LIGHTNING])
    assert xl.loras == (LoraRef(XL_LIGHTNING, 1.0),) and xl.accelerator == "Lightning LoRA"


def test_a_lora_of_another_family_is_never_used() -> None:
    setup = live_setup("juggernautXL_v9.safetensors", [SD15_LCM])
    assert setup.loras == () and "lags behind" in setup.slow
    assert setup.sampling.steps < 25  # fewer than the family's 25, still


def test_plain_models_say_they_are_slow_and_samplers_follow_the_server() -> None:
    flux = live_setup("flux1-dev.safetensors", [])
    assert "Flux" in flux.slow and flux.accelerator == ""
    info = object_info()
    setup = live_setup("random-sd15-tiny.safetensors", [], info)
    assert setup.sampling.sampler in info["KSampler"]["input"]["required"]["sampler_name"][0]
    assert "CPU" in live_setup("x.safetensors", [], device_type="cpu").slow


def test_polling_backs_off_when_reading_the_canvas_state_is_slow() -> None:
    assert poll_interval(50, 0.002) == 50  # a small document: the base interval
    assert poll_interval(50, 0.040) == 200  # 40 ms per look: at most a fifth of the UI thread
