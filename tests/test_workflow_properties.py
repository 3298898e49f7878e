"""Property test: every valid request builds a graph the captured ComfyUI would accept."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai_diffusion.request import (
    ControlLayer,
    Extent,
    GenerationRequest,
    Image,
    LoraRef,
    Mode,
    Preprocess,
    Sampling,
    UpscaleRef,
)
from ai_diffusion.workflow import build_workflow, validate_graph
from ai_diffusion.workflow.object_info import choices
from tests.comfy_fixtures import object_info
from tests.fakes.executor import encode_png

INFO = object_info()
CHECKPOINTS = choices(INFO, "CheckpointLoaderSimple", "ckpt_name")
LORAS = choices(INFO, "LoraLoader", "lora_name")
CONTROLNETS = choices(INFO, "ControlNetLoader", "control_net_name")
UPSCALERS = choices(INFO, "UpscaleModelLoader", "model_name")
SAMPLERS = choices(INFO, "KSampler", "sampler_name")
SCHEDULERS = choices(INFO, "KSampler", "scheduler")


@cache
def png(width: int, height: int, gray: bool = False, value: int = 100) -> Image:
    shape = (height, width) if gray else (height, width, 3)
    return Image.from_png(encode_png(np.full(shape, value, np.uint8)))


sizes = st.tuples(st.integers(8, 3000), st.integers(8, 3000))


@st.composite
def requests(draw: st.DrawFn) -> GenerationRequest:
    mode = draw(st.sampled_from(list(Mode)))
    width, height = draw(sizes)
    image = png(width, height) if mode is not Mode.txt2img else None
    if mode is Mode.upscale:
        target = draw(st.none() | st.builds(Extent, st.integers(8, 4000), st.integers(8, 4000)))
        return GenerationRequest(
            image=image, upscale=UpscaleRef(draw(st.sampled_from(UPSCALERS)), target)
        )
    strength = 1.0
    if mode is Mode.img2img:
        strength = draw(st.floats(0.01, 0.99))
    elif mode is Mode.inpaint:
        strength = draw(st.sampled_from([1.0, 0.3, 0.75]))
    loras = draw(st.lists(st.builds(LoraRef, st.sampled_from(LORAS), st.floats(-2, 2)), max_size=2))
    tag = draw(
        st.sampled_from(["", " <lora:random-sd15-tiny-lora:0.4>", "<LORA:Random-SD15-Lora>"])
    )
    controls = draw(
        st.lists(
            st.builds(
                ControlLayer,
                st.sampled_from(CONTROLNETS),
                st.just(png(64, 48, value=30)),
                st.floats(0, 2),
                st.just(0.0),
                st.floats(0.1, 1.0),
                st.sampled_from(list(Preprocess)),
            ),
            max_size=2,
        )
    )
    sampling = Sampling(
        draw(st.sampled_from(SAMPLERS)),
        draw(st.sampled_from(SCHEDULERS)),
        draw(st.integers(1, 60)),
        draw(st.floats(0, 30)),
        draw(st.integers(0, 2**64 - 1)),
        draw(st.integers(1, 8)),
    )
    upscale = None
    if mode is not Mode.inpaint and draw(st.booleans()):
        upscale = UpscaleRef(UPSCALERS[0], draw(st.none() | st.just(Extent(900, 700))))
    return GenerationRequest(
        checkpoint=draw(st.sampled_from(CHECKPOINTS)),
        family=draw(st.sampled_from([None, "sd15", "sdxl"])),
        prompt=draw(st.text(max_size=30)) + tag,
        negative_prompt=draw(st.text(max_size=10)),
        loras=tuple(loras),
        sampling=sampling,
        extent=Extent(width, height),
        image=image,
        strength=strength,
        mask=png(width, height, gray=True, value=255) if mode is Mode.inpaint else None,
        controls=tuple(controls),
        upscale=upscale,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_every_valid_request_builds_a_valid_graph(request: GenerationRequest) -> None:
    workflow = build_workflow(request, INFO)
    graph = workflow.graph
    validate_graph(graph, INFO, uploaded=workflow.inputs)
    assert json.loads(json.dumps(graph)) == graph  # plain JSON
    assert graph[workflow.output_node]["class_type"] == "SaveImage"
    # Every uploaded file is loaded by the graph, and every loaded file is uploaded.
    loaded = {
        n["inputs"]["image"] for n in graph.values() if n["class_type"].startswith("LoadImage")
    }
    assert loaded == set(workflow.inputs)
    for name, data in workflow.inputs.items():
        assert name.startswith("aid-") and data.startswith(b"\x89PNG")
    if request.mode is not Mode.upscale:
        samplers = [n for n in graph.values() if n["class_type"] == "KSampler"]
        assert len(samplers) == 1
        assert samplers[0]["inputs"]["denoise"] == request.strength
    # The same request builds the same graph.
    assert build_workflow(request, INFO).graph == graph
