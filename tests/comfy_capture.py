"""Record what a running ComfyUI answers, as the client meets it: the evidence the fake ComfyUI
and the protocol tests follow (``tests/data/comfyui/<version>/``).

``scripts/capture_comfyui.py URL OUT`` runs :func:`capture` against a real server and writes
the files with :func:`write`; ``tests/test_fake_follows_captures.py`` runs the same
:func:`capture` against the fake and compares the two, so a fake that drifts from a recorded
server goes red.

What is recorded (and nothing else; every file is read by a test):
- ``object_info.json``: ``GET /object_info``, one node class a line.
- ``http.json``: for each request, ``{"status", "body"}``: ``/system_stats``, ``/features``,
  ``/models`` and its folders, ``/embeddings``, an upload, ``/prompt``, ``/queue`` idle and while
  a job runs, ``/history/{id}``, the jobs API (list, one job, an unknown id, cancel of a pending
  and of a running job, where the server has it), ``/interrupt`` with an id, ``/view`` of a
  missing file.
- ``errors.json``: the answers of ``/prompt`` to a set of bad graphs.
- ``graphs/*.json``: the graphs the server accepted and ran (txt2img, img2img, inpaint, LoRA).
- ``ws_transcript.jsonl``: every websocket frame of one job with previews; binary frames as their
  header (event, format or metadata) and length.

The jobs are tiny (64 px, 2 steps) so that a CPU server records in about a minute. The server
needs an SD1.5 checkpoint (a ``tiny`` one is preferred) and a LoRA in its lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import websockets
from websockets.asyncio.client import connect as ws_connect

MODEL_FOLDERS = ("checkpoints", "loras", "vae", "controlnet", "upscale_models",
                 "diffusion_models", "text_encoders", "bogus")  # fmt: skip
INPUT_NAME = "capture_input.png"


@dataclass
class Capture:
    version: str = ""
    object_info: dict[str, Any] = field(default_factory=dict)
    http: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    graphs: dict[str, dict[str, Any]] = field(default_factory=dict)
    transcript: list[dict[str, Any]] = field(default_factory=list)


def _png(width: int, height: int, rgba: bool = False) -> bytes:
    from PIL import Image

    image = Image.new("RGBA" if rgba else "RGB", (width, height), (200, 120, 60, 255))
    if rgba:  # a transparent square in the middle: the area LoadImage's mask marks
        image.paste((0, 0, 0, 0), (width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _choices(info: dict[str, Any], cls: str, name: str) -> list[str]:
    spec = info.get(cls, {}).get("input", {}).get("required", {}).get(name)
    if not spec:
        return []
    first = spec[0]
    if isinstance(first, list):
        return [str(x) for x in first]
    if first == "COMBO" and len(spec) > 1:  # the newer combo form
        return [str(x) for x in spec[1].get("options", [])]
    return []


def _pick(names: list[str], *, prefer: str, avoid: str = "xl") -> str:
    ordered = sorted(names, key=lambda n: (prefer not in n, avoid in n.lower(), n))
    if not ordered:
        raise SystemExit("the server lists no model of the kind the capture needs")
    return ordered[0]


def graphs_for(info: dict[str, Any], steps: int = 2, size: int = 64) -> dict[str, dict]:
    """The jobs the capture runs, naming the server's own smallest SD1.5 models."""
    checkpoint = _pick(_choices(info, "CheckpointLoaderSimple", "ckpt_name"), prefer="tiny")
    loras = [n for n in _choices(info, "LoraLoader", "lora_name") if "xl" not in n.lower()]
    lora = _pick(loras, prefer="tiny") if loras else None
    base = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "a fox", "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage",
              "inputs": {"width": size, "height": size, "batch_size": 1}},
        "5": {"class_type": "KSampler",
              "inputs": {"model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                         "latent_image": ["4", 0], "seed": 42, "steps": steps, "cfg": 7.0,
                         "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "7": {"class_type": "SaveImage", "inputs": {"images": ["6", 0], "filename_prefix": "cap"}},
    }  # fmt: skip
    txt2img = json.loads(json.dumps(base))
    img2img = json.loads(json.dumps(base))
    img2img["8"] = {"class_type": "LoadImage", "inputs": {"image": INPUT_NAME}}
    img2img["4"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["8", 0], "vae": ["1", 2]}}
    img2img["5"]["inputs"]["denoise"] = 0.6
    inpaint = json.loads(json.dumps(img2img))
    inpaint["9"] = {"class_type": "SetLatentNoiseMask",
                    "inputs": {"samples": ["4", 0], "mask": ["8", 1]}}  # fmt: skip
    inpaint["5"]["inputs"]["latent_image"] = ["9", 0]
    result = {"txt2img": txt2img, "img2img": img2img, "inpaint": inpaint}
    if lora:
        with_lora = json.loads(json.dumps(base))
        with_lora["10"] = {"class_type": "LoraLoader",
                           "inputs": {"model": ["1", 0], "clip": ["1", 1], "lora_name": lora,
                                      "strength_model": 1.0, "strength_clip": 1.0}}  # fmt: skip
        with_lora["5"]["inputs"]["model"] = ["10", 0]
        for node in ("2", "3"):
            with_lora[node]["inputs"]["clip"] = ["10", 1]
        result["lora"] = with_lora
    return result


def bad_graphs(txt2img: dict[str, Any]) -> dict[str, Any]:
    """Graphs ``/prompt`` refuses, each for one reason the client must put in words."""
    missing_image = json.loads(json.dumps(txt2img))
    missing_image["8"] = {"class_type": "LoadImage", "inputs": {"image": "absent.png"}}
    missing_image["4"] = {
        "class_type": "VAEEncode",
        "inputs": {"pixels": ["8", 0], "vae": ["1", 2]},
    }

    def changed(**edits: Any) -> dict[str, Any]:
        graph = json.loads(json.dumps(txt2img))
        for path, value in edits.items():
            node, name = path.split("__")
            if value is None:
                del graph[node]["inputs"][name]
            else:
                graph[node]["inputs"][name] = value
        return graph

    unknown = json.loads(json.dumps(txt2img))
    unknown["9"] = {"class_type": "NoSuchNode", "inputs": {}}
    no_output = json.loads(json.dumps(txt2img))
    del no_output["7"]
    return {
        "err_missing_checkpoint": {"prompt": changed(**{"1__ckpt_name": "nope.safetensors"})},
        "err_invalid_inputs": {
            "prompt": changed(
                **{"5__steps": "many", "5__cfg": None, "5__sampler_name": "no_such_sampler"}
            )  # fmt: skip
        },
        "err_unknown_node_class": {"prompt": unknown},
        "err_no_output_node": {"prompt": no_output},
        "err_type_mismatch_link": {"prompt": changed(**{"6__samples": ["2", 0]})},
        "err_link_to_missing_node": {"prompt": changed(**{"6__samples": ["99", 0]})},
        "err_missing_input_image": {"prompt": missing_image},
        "err_no_prompt_key": {"graph": txt2img},
        "err_prompt_id_not_uuid": {"prompt": txt2img, "prompt_id": "not-a-uuid"},
    }


class _Recorder:
    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.result = Capture()

    async def request(
        self, key: str, method: str, path: str, record: bool = True, **kwargs: Any
    ) -> tuple[int, Any]:
        async with self.session.request(method, self.url + path, **kwargs) as response:
            text = await response.text(errors="replace")
            try:
                body: Any = json.loads(text) if text else None
            except ValueError:
                body = text
            if record:
                self.result.http[key] = {"status": response.status, "body": body}
            return response.status, body


async def _until(condition: Any, seconds: float = 120) -> Any:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        value = await condition()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the server did not get there in time")
        await asyncio.sleep(0.1)


def _frame_record(frame: str | bytes, t0: float) -> dict[str, Any]:
    t = round(asyncio.get_running_loop().time() - t0, 3)
    if isinstance(frame, str):
        message = json.loads(frame)
        return {"t": t, "kind": "text", "type": message.get("type"), "data": message.get("data")}
    record: dict[str, Any] = {"t": t, "kind": "binary", "length": len(frame)}
    if len(frame) >= 8:
        event, second = struct.unpack(">II", frame[:8])
        record["event"] = event
        if event == 4 and 8 + second <= len(frame):
            record["metadata"] = json.loads(frame[8 : 8 + second])
        else:
            record["format"] = second
    return record


async def capture(url: str) -> Capture:
    """Everything in the module's list, from the server at ``url`` (no token: a pod's own
    address or a tunnel)."""
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        rec = _Recorder(session, url)
        return await _capture(rec)


async def _capture(rec: _Recorder) -> Capture:
    out = rec.result
    _, stats = await rec.request("GET /system_stats", "GET", "/system_stats")
    out.version = str(stats["system"].get("comfyui_version", "unknown"))
    await rec.request("GET /features", "GET", "/features")
    await rec.request("GET /models", "GET", "/models")
    for folder in MODEL_FOLDERS:
        await rec.request(f"GET /models/{folder}", "GET", f"/models/{folder}")
    await rec.request("GET /embeddings", "GET", "/embeddings")
    _, out.object_info = await rec.request("GET /object_info", "GET", "/object_info", False)
    await rec.request("GET /queue (idle)", "GET", "/queue")
    await rec.request("GET /view (missing)", "GET", "/view",
                      params={"filename": "absent.png", "type": "input"})  # fmt: skip
    await rec.request("GET /api/jobs?limit=2", "GET", "/api/jobs", params={"limit": "2"})

    form = aiohttp.FormData()
    form.add_field("image", _png(64, 64, rgba=True), filename=INPUT_NAME,
                   content_type="image/png")  # fmt: skip
    form.add_field("overwrite", "true")
    await rec.request("POST /upload/image", "POST", "/upload/image", data=form)

    client_id = str(uuid.uuid4())
    ws_url = rec.url.replace("http", "ws", 1) + f"/ws?clientId={client_id}"
    frames: list[str | bytes] = []
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    async with ws_connect(ws_url, max_size=64 * 2**20) as ws:
        flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
        await ws.send(json.dumps(flags))

        async def read() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for frame in ws:
                    frames.append(frame)
                    out.transcript.append(_frame_record(frame, t0))

        reader = asyncio.create_task(read())
        try:
            await _jobs(rec, client_id, out)
        finally:
            await asyncio.sleep(0.5)
            reader.cancel()
    await _errors(rec, out)
    return out


async def _post(rec: _Recorder, key: str | None, graph: dict, client_id: str,
                prompt_id: str | None = None, previews: str = "latent2rgb") -> str:  # fmt: skip
    prompt_id = prompt_id or str(uuid.uuid4())
    body = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id,
            "extra_data": {"preview_method": previews}}  # fmt: skip
    status, answer = await rec.request(key or "", "POST", "/prompt", key is not None, json=body)
    if status != 200:
        raise SystemExit(f"the server refused a capture job ({status}): {answer}")
    return prompt_id


async def _finished(rec: _Recorder, prompt_id: str, key: str | None = None) -> dict:
    async def entry() -> Any:
        _, body = await rec.request(key or "", "GET", f"/history/{prompt_id}", key is not None)
        return body.get(prompt_id) if isinstance(body, dict) else None

    return await _until(entry)


async def _jobs(rec: _Recorder, client_id: str, out: Capture) -> None:
    graphs = graphs_for(out.object_info)
    # One job with previews: the websocket transcript, the queue and the jobs API meanwhile.
    previewed = json.loads(json.dumps(graphs["txt2img"]))
    previewed["5"]["inputs"]["steps"] = 12  # long enough to be seen running
    first = await _post(rec, "POST /prompt", previewed, client_id)

    async def running(job: str) -> bool:
        _, queue = await rec.request("", "GET", "/queue", False)
        if any(item[1] == job for item in queue.get("queue_running", [])):
            return True
        _, done = await rec.request("", "GET", f"/history/{job}", False)
        if done:
            raise SystemExit("a capture job ended before it was seen running")
        return False

    await _until(lambda: running(first))
    await rec.request("GET /queue (running)", "GET", "/queue")
    await rec.request("GET /api/jobs/{id} (running)", "GET", f"/api/jobs/{first}")
    await _finished(rec, first, "GET /history/{id}")
    await rec.request("GET /api/jobs/{id} (completed)", "GET", f"/api/jobs/{first}")
    await rec.request("GET /api/jobs/{id} (unknown)", "GET", f"/api/jobs/{uuid.uuid4()}")
    out.graphs["txt2img"] = previewed
    for name in ("img2img", "inpaint", "lora"):
        if name in graphs:
            job = await _post(rec, None, graphs[name], client_id, previews="none")
            entry = await _finished(rec, job)
            if entry.get("status", {}).get("status_str") != "success":
                raise SystemExit(f"the capture job {name} failed: {entry.get('status')}")
            out.graphs[name] = graphs[name]
    # Cancel: a long job runs, another waits; each is cancelled by id.
    slow = json.loads(json.dumps(graphs["txt2img"]))
    slow["5"]["inputs"].update(steps=200, seed=7)
    waiting = json.loads(json.dumps(graphs["txt2img"]))
    waiting["5"]["inputs"]["seed"] = 8
    running_id = await _post(rec, None, slow, client_id, previews="none")
    pending_id = await _post(rec, None, waiting, client_id, previews="none")

    await _until(lambda: running(running_id))
    status, _ = await rec.request(
        "POST /api/jobs/{id}/cancel (pending)", "POST", f"/api/jobs/{pending_id}/cancel"
    )
    if status == 200:
        await rec.request("GET /api/jobs/{id} (cancelled while pending)", "GET",
                          f"/api/jobs/{pending_id}")  # fmt: skip
        await rec.request(
            "POST /api/jobs/{id}/cancel (running)", "POST", f"/api/jobs/{running_id}/cancel"
        )
    else:
        await rec.request("POST /queue (delete)", "POST", "/queue",
                          json={"delete": [pending_id]})  # fmt: skip
        await rec.request("POST /interrupt (prompt_id)", "POST", "/interrupt",
                          json={"prompt_id": running_id})  # fmt: skip
    await _finished(rec, running_id, "GET /history/{id} (interrupted)")
    await rec.request("GET /api/jobs/{id} (interrupted)", "GET", f"/api/jobs/{running_id}")
    await rec.request("POST /api/jobs/{id}/cancel (finished)", "POST",
                      f"/api/jobs/{running_id}/cancel")  # fmt: skip


async def _errors(rec: _Recorder, out: Capture) -> None:
    for case, body in bad_graphs(out.graphs["txt2img"]).items():
        if "prompt" in body and "prompt_id" not in body and case != "err_no_prompt_key":
            body = {**body, "client_id": "capture"}
        async with rec.session.post(rec.url + "/prompt", json=body) as response:
            text = await response.text()
            out.errors[case] = {"status": response.status, "body": _json_or_text(text)}
    async with rec.session.post(rec.url + "/prompt", data=b"{not json") as response:
        out.errors["err_malformed_json"] = {
            "status": response.status,
            "body": _json_or_text(await response.text()),
        }
    # Anything that was queued by mistake (a case the server accepted) is removed again.
    ids = [e["body"]["prompt_id"] for e in out.errors.values()
           if e["status"] == 200 and isinstance(e["body"], dict) and "prompt_id" in e["body"]]  # fmt: skip
    if ids:
        await rec.request("", "POST", "/queue", False, json={"delete": ids})
        for prompt_id in ids:
            await rec.request("", "POST", "/interrupt", False, json={"prompt_id": prompt_id})


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


# Files -------------------------------------------------------------------------------------


def write(result: Capture, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in
             sorted(result.object_info.items())]  # fmt: skip
    (folder / "object_info.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    for name, data in (("http", result.http), ("errors", result.errors)):
        (folder / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    graphs = folder / "graphs"
    graphs.mkdir(exist_ok=True)
    for name, graph in result.graphs.items():
        (graphs / f"{name}.json").write_text(json.dumps(graph, indent=1) + "\n")
    (folder / "ws_transcript.jsonl").write_text(
        "".join(json.dumps(r, sort_keys=True) + "\n" for r in result.transcript)
    )


def read(folder: Path) -> Capture:
    http = json.loads((folder / "http.json").read_text())
    return Capture(
        version=str(http["GET /system_stats"]["body"]["system"]["comfyui_version"]),
        object_info=json.loads((folder / "object_info.json").read_text()),
        http=http,
        errors=json.loads((folder / "errors.json").read_text()),
        graphs={p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("graphs/*.json"))},
        transcript=[json.loads(line) for line in
                    (folder / "ws_transcript.jsonl").read_text().splitlines() if line],
    )  # fmt: skip
