"""Jobs on the fake Automatic1111/Forge WebUI: what is sent for each kind of request, what
comes back, progress and previews by polling, and Cancel that never stops somebody else's job."""

from __future__ import annotations

import asyncio
import base64
import io
from dataclasses import replace

import aiohttp
import numpy as np
import pytest
from PIL import Image as PILImage

from ai_diffusion.backends import feather
from ai_diffusion.backends.a1111 import WebUIClient
from ai_diffusion.cli.request_args import paste_result
from ai_diffusion.comfy import ServerConfig
from ai_diffusion.comfy.events import (
    Failed,
    Finished,
    Interrupted,
    Preview,
    Progress,
    Queued,
    Started,
)
from ai_diffusion.errors import UserError
from ai_diffusion.request import (
    Bounds,
    ControlLayer,
    Extent,
    GenerationRequest,
    InvalidRequest,
    LoraRef,
    Preprocess,
    RegionPrompt,
    Resolution,
    Sampling,
    UpscaleRef,
)
from tests.a1111_fixtures import (
    CHECKPOINT,
    RunningWebUI,
    next_event,
    pixels,
    png_of,
    start_webui,
)
from tests.comfy_fixtures import collect
from tests.fakes.a1111_server import FakeWebUI

END = (Finished, Failed, Interrupted)


def txt2img(**changes: object) -> GenerationRequest:
    base = GenerationRequest(
        checkpoint=CHECKPOINT,
        prompt="a red fox",
        negative_prompt="blurry",
        extent=Extent(512, 512),
        sampling=Sampling("euler", "karras", steps=4, cfg=6.5, seed=77, batch_size=1),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def run(client: WebUIClient, request: GenerationRequest) -> list:
    job = await client.submit(request)
    return await collect(client, {job}, timeout=30)


async def test_txt2img_sends_the_request_and_returns_the_batch(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    events = await run(webui_client, txt2img(sampling=Sampling("euler", "karras", 4, 6.5, 77, 3)))
    route, body = webui.fake.received[-1]
    assert route == "txt2img"
    assert body["prompt"] == "a red fox" and body["negative_prompt"] == "blurry"
    assert (body["sampler_name"], body["scheduler"]) == ("Euler", "Karras")
    assert (body["steps"], body["cfg_scale"], body["seed"], body["batch_size"]) == (4, 6.5, 77, 3)
    assert (body["width"], body["height"]) == (512, 512)
    assert body["override_settings"] == {
        "sd_model_checkpoint": "dreamshaper_8.safetensors [879db523b3]"
    }
    assert [type(e) for e in events][:2] == [Queued, Started]
    ends = [e for e in events if isinstance(e, END)]
    assert len(ends) == 1 and isinstance(ends[0], Finished)
    images = ends[0].images
    assert len(images) == 3  # the grid the WebUI puts first is not a result
    assert {pixels(i).shape for i in images} == {(512, 512, 3)}
    assert len({i for i in images}) == 3


async def test_large_canvas_is_sampled_near_the_models_size(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    await run(webui_client, txt2img(extent=Extent(2048, 1024)))
    body = webui.fake.received[-1][1]
    w, h = body["width"], body["height"]
    assert w % 8 == 0 and h % 8 == 0
    assert abs(w * h / 512**2 - 1) < 0.1 and abs(w / h - 2) < 0.05  # SD 1.5's size, same aspect


async def test_the_painters_resolution_sets_the_size_the_webui_samples_at(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    await run(webui_client, txt2img(extent=Extent(2048, 1024), resolution=Resolution(1.5)))
    body = webui.fake.received[-1][1]
    assert abs(body["width"] * body["height"] / (1.5 * 512) ** 2 - 1) < 0.1
    await run(webui_client, txt2img(extent=Extent(640, 360), resolution=Resolution(own_size=True)))
    body = webui.fake.received[-1][1]
    assert (body["width"], body["height"]) == (640, 360)


@pytest.mark.parametrize(
    "name",
    ["dreamshaper_8.safetensors", "dreamshaper_8", "dreamshaper_8.safetensors [879db523b3]",
     "DreamShaper_8.SAFETENSORS"],
)  # fmt: skip
async def test_checkpoint_by_file_model_or_title(
    name: str, webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    await run(webui_client, txt2img(checkpoint=name))
    sent = webui.fake.received[-1][1]["override_settings"]["sd_model_checkpoint"]
    assert sent == "dreamshaper_8.safetensors [879db523b3]"


async def test_sdxl_checkpoint_in_a_subfolder(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    events = await run(webui_client, txt2img(checkpoint="sdxl/juggernautXL_v9.safetensors"))
    assert isinstance(events[-1], Finished)
    body = webui.fake.received[-1][1]
    assert body["override_settings"]["sd_model_checkpoint"].startswith("sdxl/juggernautXL_v9")
    assert (body["width"], body["height"]) == (1024, 1024)  # SDXL's native size


async def test_unknown_checkpoint_fails_before_sending(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    with pytest.raises(InvalidRequest, match="no model .checkpoint. named 'nothing.safetensors'"):
        await webui_client.submit(txt2img(checkpoint="nothing.safetensors"))
    assert webui.fake.received == []


async def test_checkpoint_silently_ignored_by_the_webui_is_reported(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    # Listed when connecting, gone from the WebUI since: it silently uses its current model.
    webui.fake.checkpoints.remove(("sdxl/juggernautXL_v9.safetensors", "c9e3e68f89"))
    events = await run(webui_client, txt2img(checkpoint="sdxl/juggernautXL_v9.safetensors"))
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert "'dreamshaper_8'" in failed.message and "juggernautXL_v9" in failed.message


async def test_loras_become_prompt_tags(webui: RunningWebUI, webui_client: WebUIClient) -> None:
    request = txt2img(
        prompt="a fox <lora:pixel_art_xl:0.5>",
        loras=(LoraRef("detail_tweaker.safetensors", 0.8),),
    )
    await run(webui_client, request)
    prompt = webui.fake.received[-1][1]["prompt"]
    assert prompt == "a fox <lora:detail_tweaker:0.8> <lora:pixel_art_xl:0.5>"


async def test_unknown_lora_or_sampler_fails_before_sending(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    with pytest.raises(InvalidRequest, match="LoRA 'nope'"):
        await webui_client.submit(txt2img(loras=(LoraRef("nope"),)))
    with pytest.raises(InvalidRequest, match="no sampler 'fancy'"):
        await webui_client.submit(txt2img(sampling=Sampling("fancy", "normal", 4)))
    assert webui.fake.received == []


async def test_webui_sampler_names_pass_as_they_are(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    await run(webui_client, txt2img(sampling=Sampling("DPM++ 2M", "Align Your Steps", 4)))
    body = webui.fake.received[-1][1]
    assert (body["sampler_name"], body["scheduler"]) == ("DPM++ 2M", "Align Your Steps")


async def test_img2img_sends_the_image_and_strength(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    picture = np.full((256, 384, 3), (20, 180, 40), np.uint8)
    events = await run(webui_client, txt2img(image=png_of(picture), strength=0.4))
    route, body = webui.fake.received[-1]
    assert route == "img2img" and body["denoising_strength"] == 0.4
    sent = PILImage.open(io.BytesIO(base64.b64decode(body["init_images"][0])))
    assert sent.size == (384, 256) and "mask" not in body
    assert isinstance(events[-1], Finished)


def _inpaint_request(
    strength: float, size: tuple[int, int] = (416, 512)
) -> tuple[GenerationRequest, np.ndarray, np.ndarray]:
    """A crop of ``size`` (height, width) with a rectangle to repaint. 512×416 is close
    enough to SD 1.5's size to be sampled as it is."""
    rng = np.random.default_rng(3)
    picture = rng.integers(0, 256, (*size, 3)).astype(np.uint8)
    mask = np.zeros(size, np.uint8)
    mask[60:130, 80:170] = 255
    request = txt2img(image=png_of(picture), mask=png_of(mask), strength=strength)
    return request, picture, mask


@pytest.mark.parametrize(("strength", "fill"), [(1.0, 2), (0.6, 1)])
async def test_inpaint_repaints_only_the_mask_and_keeps_everything_outside(
    strength: float, fill: int, webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    request, picture, mask = _inpaint_request(strength)
    events = await run(webui_client, request)
    body = webui.fake.received[-1][1]
    assert body["inpainting_fill"] == fill and body["inpaint_full_res"] is False
    assert body["mask_blur"] == 0 and body["denoising_strength"] == strength
    finished = events[-1]
    assert isinstance(finished, Finished)
    result = PILImage.open(io.BytesIO(finished.images[0]))
    assert result.mode == "RGBA" and result.size == (512, 416)
    # Pasted back as the docker and the CLI do: alpha-composited over the original crop.
    canvas = PILImage.fromarray(picture).convert("RGBA")
    canvas.alpha_composite(result)
    pasted = np.asarray(canvas.convert("RGB"))
    ys, xs = np.nonzero(np.asarray(result)[..., 3])
    reach = feather.FEATHER_REACH
    assert ys.min() >= 60 - reach and ys.max() < 130 + reach
    assert xs.min() >= 80 - reach and xs.max() < 170 + reach
    outside = np.ones(mask.shape, bool)
    outside[60 - reach : 130 + reach, 80 - reach : 170 + reach] = False
    assert (pasted[outside] == picture[outside]).all()
    changed = (pasted[60:130, 80:170] != picture[60:130, 80:170]).any(-1).mean()
    assert changed > 0.9  # the selection itself was repainted


async def test_batch_of_inpaints_each_carry_the_feather(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    request, _, _ = _inpaint_request(1.0)
    request = replace(request, sampling=replace(request.sampling, batch_size=2))
    events = await run(webui_client, request)
    images = events[-1].images  # type: ignore[union-attr]
    assert len(images) == 2
    for image in images:
        alpha = pixels(image)[..., 3]
        assert alpha[0, 0] == 0 and alpha[95, 125] == 255


async def test_inpaint_sampled_at_another_size_still_keeps_the_outside(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    request, picture, _ = _inpaint_request(1.0, size=(192, 256))
    events = await run(webui_client, request)
    result = events[-1].images[0]  # type: ignore[union-attr]
    body = webui.fake.received[-1][1]
    assert (body["height"], body["width"]) != (192, 256)  # sampled near 512² …
    assert pixels(result).shape[:2] == (192, 256)  # … and brought back to the picture's size
    region = Bounds(0, 0, 256, 192)
    pasted = pixels(paste_result(png_of(picture).data, result, region))
    margin = feather.FEATHER_REACH + 4  # + the scaling filter's reach
    outside = np.ones((192, 256), bool)
    outside[60 - margin : 130 + margin, 80 - margin : 170 + margin] = False
    assert (pasted[outside] == picture[outside]).all()


async def test_controlnet_units_and_no_detected_maps_among_results(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    hint = png_of(np.zeros((512, 512, 3), np.uint8))
    control = ControlLayer(
        "control_v11p_sd15_canny [d14c016b]", hint, 0.8, 0.1, 0.9, Preprocess.canny
    )
    events = await run(webui_client, txt2img(controls=(control,)))
    unit = webui.fake.received[-1][1]["alwayson_scripts"]["controlnet"]["args"][0]
    assert unit["enabled"] is True and unit["module"] == "canny"
    assert unit["model"] == "control_v11p_sd15_canny [d14c016b]"
    assert (unit["weight"], unit["guidance_start"], unit["guidance_end"]) == (0.8, 0.1, 0.9)
    assert base64.b64decode(unit["image"]) == hint.data
    assert len(events[-1].images) == 1  # type: ignore[union-attr]


async def test_controlnet_model_by_name_without_hash(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    hint = png_of(np.zeros((64, 64, 3), np.uint8))
    await run(webui_client, txt2img(controls=(ControlLayer("control_v11f1p_sd15_depth", hint),)))
    unit = webui.fake.received[-1][1]["alwayson_scripts"]["controlnet"]["args"][0]
    assert unit["model"] == "control_v11f1p_sd15_depth [cfd03158]" and unit["module"] == "none"


async def test_controlnet_without_the_extension_says_so() -> None:
    running = await start_webui(FakeWebUI(controlnet=False))
    client = await WebUIClient.connect(ServerConfig(running.url))
    hint = png_of(np.zeros((64, 64, 3), np.uint8))
    try:
        with pytest.raises(InvalidRequest, match="no ControlNet extension"):
            await client.submit(txt2img(controls=(ControlLayer("control_canny", hint),)))
    finally:
        await client.close()
        await running.runner.cleanup()


async def test_upscale_goes_through_extras(webui: RunningWebUI, webui_client: WebUIClient) -> None:
    image = png_of(np.full((40, 60, 3), 90, np.uint8))
    request = GenerationRequest(image=image, upscale=UpscaleRef("R-ESRGAN 4x+"))
    events = await run(webui_client, request)
    route, body = webui.fake.received[-1]
    assert route == "extras" and body["upscaler_1"] == "R-ESRGAN 4x+"
    assert pixels(events[-1].images[0]).shape[:2] == (160, 240)  # type: ignore[union-attr]


async def test_generation_then_upscale_to_a_size(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    request = txt2img(upscale=UpscaleRef("Lanczos", Extent(1000, 1000)))
    events = await run(webui_client, request)
    assert [r for r, _ in webui.fake.received] == ["txt2img", "extras"]
    assert pixels(events[-1].images[0]).shape[:2] == (1000, 1000)  # type: ignore[union-attr]


async def test_the_upscale_factor_is_kept_whatever_the_models_own(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    image = png_of(np.full((40, 60, 3), 90, np.uint8))
    request = GenerationRequest(image=image, upscale=UpscaleRef("R-ESRGAN 4x+", factor=2.0))
    events = await run(webui_client, request)
    assert pixels(events[-1].images[0]).shape[:2] == (80, 120)  # type: ignore[union-attr]


async def test_a_refine_or_regions_are_refused_in_words_before_sending(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    image = png_of(np.full((64, 64, 3), 90, np.uint8))
    refine = UpscaleRef("R-ESRGAN 4x+", factor=2.0, refine=0.3)
    with pytest.raises(InvalidRequest, match="without the tiled refine"):
        await webui_client.submit(txt2img(image=image, upscale=refine, strength=1.0))
    region = RegionPrompt("a barn", png_of(np.full((512, 512), 255, np.uint8)))
    with pytest.raises(InvalidRequest, match="Regions need a ComfyUI server"):
        await webui_client.submit(txt2img(extent=Extent(512, 512), regions=(region,)))
    assert webui.fake.received == []


async def test_out_of_memory_is_a_painter_message(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.oom = True
    events = await run(webui_client, txt2img())
    assert isinstance(events[-1], Failed) and "ran out of memory" in events[-1].message


async def test_progress_and_live_preview_while_our_job_runs(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.running.clear()  # hold the job at its first step
    job = await webui_client.submit(txt2img())
    progress = await next_event(webui_client, Progress)
    assert (progress.job_id, progress.step, progress.total) == (job, 1, 4)  # type: ignore[union-attr]
    preview = await next_event(webui_client, Preview)
    assert preview.job_id == job and preview.format == "png"  # type: ignore[union-attr]
    assert pixels(preview.image).shape == (128, 128, 3)  # type: ignore[union-attr]
    webui.fake.running.set()
    events = await collect(webui_client, {job}, timeout=30)
    assert isinstance(events[-1], Finished)


async def test_cancel_interrupts_our_running_job(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.running.clear()
    job = await webui_client.submit(txt2img())
    await next_event(webui_client, Progress)
    await webui_client.cancel(job)
    events = await collect(webui_client, {job}, timeout=30)
    assert webui.fake.interrupts == 1
    assert [e for e in events if isinstance(e, END)] == [Interrupted(job)]


async def test_cancel_of_a_job_still_waiting_here_sends_nothing(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.running.clear()
    first = await webui_client.submit(txt2img())
    second = await webui_client.submit(txt2img(prompt="second"))
    await webui_client.cancel(second)
    webui.fake.running.set()
    events = await collect(webui_client, {first, second}, timeout=30)
    ends = {e.job_id: type(e) for e in events if isinstance(e, END)}
    assert ends == {first: Finished, second: Interrupted}
    assert [b["prompt"] for _, b in webui.fake.received] == ["a red fox"]
    assert webui.fake.interrupts == 0


async def test_never_interrupts_a_job_that_may_be_somebody_elses(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.running.clear()
    # Somebody else's job runs on the shared WebUI.
    other_session = aiohttp.ClientSession()
    body = {"prompt": "theirs", "steps": 3, "width": 64, "height": 64}
    other = asyncio.create_task(other_session.post(f"{webui.url}/sdapi/v1/txt2img", json=body))
    while not webui.fake.state["job"]:
        await asyncio.sleep(0.01)
    job = await webui_client.submit(txt2img())
    while len(webui.fake.received) < 2:  # ours reached the WebUI and waits for its lock
        await asyncio.sleep(0.01)
    with pytest.raises(UserError, match="not stopped"):
        await webui_client.cancel(job)
    assert webui.fake.interrupts == 0
    webui.fake.running.set()
    events = await collect(webui_client, {job}, timeout=30)
    assert [e for e in events if isinstance(e, END)] == [Interrupted(job)]  # result dropped
    assert webui.fake.interrupts == 0
    response = await other
    assert response.status == 200  # their job finished untouched
    response.close()
    await other_session.close()


async def test_exactly_one_end_per_job_across_outcomes(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.running.clear()
    good = await webui_client.submit(txt2img())
    bad = await webui_client.submit(txt2img(checkpoint="sdxl/juggernautXL_v9.safetensors"))
    dropped = await webui_client.submit(txt2img(prompt="third"))
    webui.fake.checkpoints.pop()  # bad's model vanished: the WebUI silently uses another
    await webui_client.cancel(dropped)
    webui.fake.running.set()
    events = await collect(webui_client, {good, bad, dropped}, timeout=30)
    ends = sorted((e.job_id, type(e).__name__) for e in events if isinstance(e, END))
    assert ends == sorted([(good, "Finished"), (bad, "Failed"), (dropped, "Interrupted")])


async def test_lost_answer_says_where_the_image_is_kept(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui.fake.cut_answers = True
    events = await run(webui_client, txt2img())
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert "outputs folder" in failed.message and "100 seconds" in failed.message
    assert len(webui.fake.saved) == 1  # the WebUI kept it (save_images)


async def test_vae_goes_where_each_webui_takes_it(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    await run(webui_client, txt2img(vae="vae-ft-mse-840000-ema-pruned.safetensors"))
    override = webui.fake.received[-1][1]["override_settings"]
    assert override["sd_vae"] == "vae-ft-mse-840000-ema-pruned.safetensors"
    forge = await start_webui(FakeWebUI(forge=True))
    client = await WebUIClient.connect(ServerConfig(forge.url))
    try:
        await run(client, txt2img(vae="sdxl_vae.safetensors"))
        override = forge.fake.received[-1][1]["override_settings"]
        assert override["forge_additional_modules"] == ["sdxl_vae.safetensors"]
        assert "sd_vae" not in override
    finally:
        await client.close()
        await forge.runner.cleanup()


async def test_cancel_before_any_poll_saw_it_start_still_interrupts_it(
    webui: RunningWebUI, webui_client: WebUIClient
) -> None:
    webui_client.poll_interval = 3600  # no poll will see it start
    webui.fake.running.clear()
    job = await webui_client.submit(txt2img())
    while not webui.fake.state["job"]:  # it started on the idle WebUI
        await asyncio.sleep(0.01)
    await webui_client.cancel(job)
    events = await collect(webui_client, {job}, timeout=30)
    assert webui.fake.interrupts == 1
    assert [e for e in events if isinstance(e, END)] == [Interrupted(job)]
