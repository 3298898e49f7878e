"""A fake Automatic1111 1.10 / Forge WebUI API that behaves as the WebUI's API documentation
(https://github.com/AUTOMATIC1111/stable-diffusion-webui/wiki/API) and its source say the real
ones do.

Strict where the real one is: routes under /sdapi exist only with --api (``api=False`` gives
404 there), --api-auth guards /sdapi routes (401 with ``WWW-Authenticate: Basic``) but not the
ones extensions add (/sdapi/v1/loras, /controlnet/*), FastAPI's 422 for wrong field types,
"Sampler not found" (400), "Init image not found" (404), an unknown
``override_settings.sd_model_checkpoint`` silently dropped, one generation at a time (a global
lock), ``info`` as a JSON string, the grid before the results and ControlNet's detected maps
after them, Forge's differences (/sd-modules instead of /sd-vae, no /controlnet/version).
Images are real PNGs; img2img and inpaint keep the init image outside the mask, as the
WebUI's overlay does.

Run alone:  python -m tests.fakes.a1111_server --port 7860 [--forge] [--auth user:pass]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiohttp import web
from PIL import Image, ImageFilter

A1111_VERSION = "v1.10.1"
FORGE_VERSION = "f2.0.1v1.10.1-previous-313-g8a042934"
SAMPLERS = [
    ("Euler a", ["k_euler_a", "k_euler_ancestral"]),
    ("Euler", ["k_euler"]),
    ("LMS", ["k_lms"]),
    ("Heun", ["k_heun"]),
    ("DPM2", ["k_dpm_2"]),
    ("DPM2 a", ["k_dpm_2_a"]),
    ("DPM++ 2S a", ["k_dpmpp_2s_a"]),
    ("DPM++ 2M", ["k_dpmpp_2m"]),
    ("DPM++ SDE", ["k_dpmpp_sde"]),
    ("DPM++ 2M SDE", ["k_dpmpp_2m_sde"]),
    ("DPM++ 3M SDE", ["k_dpmpp_3m_sde"]),
    ("DPM fast", ["k_dpm_fast"]),
    ("DPM adaptive", ["k_dpm_ad"]),
    ("Restart", ["restart"]),
    ("DDIM", ["ddim"]),
    ("PLMS", ["plms"]),
    ("UniPC", ["unipc"]),
    ("LCM", ["k_lcm"]),
]
SCHEDULERS = [
    ("automatic", "Automatic"),
    ("uniform", "Uniform"),
    ("karras", "Karras"),
    ("exponential", "Exponential"),
    ("polyexponential", "Polyexponential"),
    ("sgm_uniform", "SGM Uniform"),
    ("kl_optimal", "KL Optimal"),
    ("align_your_steps", "Align Your Steps"),
    ("simple", "Simple"),
    ("normal", "Normal"),
    ("ddim", "DDIM"),
    ("beta", "Beta"),
]
CHECKPOINTS = [
    ("dreamshaper_8.safetensors", "879db523b3"),
    ("sdxl/juggernautXL_v9.safetensors", "c9e3e68f89"),
]
LORAS = ["detail_tweaker", "pixel_art_xl"]
UPSCALERS = [("None", None, 4), ("Lanczos", None, 4), ("Nearest", None, 4),
             ("R-ESRGAN 4x+", "RealESRGAN_x4plus", 4)]  # fmt: skip
CONTROLNET_MODELS = ["control_v11p_sd15_canny [d14c016b]", "control_v11f1p_sd15_depth [cfd03158]"]
CONTROLNET_MODULES = ["none", "canny", "depth_midas", "openpose", "lineart_realistic"]
LORA_TAG = re.compile(r"<lora:([^:>]+)(?::([-+]?\d*\.?\d+))?>")

# Fields the request models declare, with the type FastAPI checks (subset that matters).
INT_FIELDS = {"seed", "steps", "width", "height", "batch_size", "n_iter", "resize_mode",
              "mask_blur", "inpainting_fill", "inpaint_full_res_padding",
              "inpainting_mask_invert", "subseed"}  # fmt: skip
FLOAT_FIELDS = {"cfg_scale", "denoising_strength", "distilled_cfg_scale", "image_cfg_scale"}
STR_FIELDS = {"prompt", "negative_prompt", "sampler_name", "scheduler", "sampler_index"}
BOOL_FIELDS = {"send_images", "save_images", "override_settings_restore_afterwards"}
DICT_FIELDS = {"override_settings", "alwayson_scripts"}


@dataclass
class FakeWebUI:
    forge: bool = False
    api: bool = True  # started with --api / --nowebui
    auth: tuple[str, str] | None = None  # --api-auth user:pass
    controlnet: bool = True  # the ControlNet extension is installed (Forge: built in)
    oom: bool = False  # every generation fails with CUDA out of memory
    cut_answers: bool = False  # generations finish, but the connection drops before the answer
    saved: list[bytes] = field(default_factory=list)  # images kept in "outputs" (save_images)
    checkpoints: list[tuple[str, str]] = field(default_factory=lambda: list(CHECKPOINTS))
    current_model: str = "dreamshaper_8.safetensors"
    # Generation steps wait for this: clear it to hold a job at its first step (until set
    # again or interrupted).
    running: asyncio.Event = field(default_factory=asyncio.Event)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    interrupts: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    current_image: str | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _jobs: int = 0

    def __post_init__(self) -> None:
        self.running.set()
        self.state = self._idle_state()

    @staticmethod
    def _idle_state() -> dict[str, Any]:
        return {"skipped": False, "interrupted": False, "stopping_generation": False, "job": "",
                "job_count": 0, "job_timestamp": "0", "job_no": 0, "sampling_step": 0,
                "sampling_steps": 0}  # fmt: skip

    # Application --------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.guard], client_max_size=256 * 2**20)
        r = app.router
        r.add_get("/", self.h_root)
        for path, handler in {
            "sd-models": self.h_sd_models, "samplers": self.h_samplers,
            "schedulers": self.h_schedulers, "upscalers": self.h_upscalers,
            "progress": self.h_progress, "options": self.h_options, "memory": self.h_memory,
            "loras": self.h_loras,
        }.items():  # fmt: skip
            r.add_get(f"/sdapi/v1/{path}", handler)
        r.add_get("/sdapi/v1/sd-modules" if self.forge else "/sdapi/v1/sd-vae", self.h_vae)
        r.add_post("/sdapi/v1/txt2img", self.h_txt2img)
        r.add_post("/sdapi/v1/img2img", self.h_img2img)
        r.add_post("/sdapi/v1/interrupt", self.h_interrupt)
        r.add_post("/sdapi/v1/extra-single-image", self.h_extras)
        if self.controlnet:
            r.add_get("/controlnet/model_list", self.h_cn_models)
            r.add_get("/controlnet/module_list", self.h_cn_modules)
            if not self.forge:
                r.add_get("/controlnet/version", self.h_cn_version)
                r.add_get("/controlnet/settings", self.h_cn_settings)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path
        # Extensions add their routes on the app: no --api needed, no --api-auth applied.
        extension = path == "/sdapi/v1/loras" or path.startswith("/controlnet/")
        if path.startswith("/sdapi/") and not extension:
            if not self.api:
                return web.json_response({"detail": "Not Found"}, status=404)
            if self.auth is not None:
                pair = base64.b64encode(f"{self.auth[0]}:{self.auth[1]}".encode()).decode()
                if request.headers.get("Authorization") != f"Basic {pair}":
                    return web.json_response(
                        {"detail": "Incorrect username or password"}, status=401,
                        headers={"WWW-Authenticate": "Basic"},
                    )  # fmt: skip
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return web.json_response({"detail": "Not Found"}, status=404)

    @staticmethod
    def error(
        status: int, detail: str, errors: str = "", kind: str = "HTTPException"
    ) -> web.Response:
        body = {"error": kind, "detail": detail, "body": "", "errors": errors}
        return web.json_response(body, status=status)

    # Lists ---------------------------------------------------------------------------------

    async def h_root(self, request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><html><title>Stable Diffusion</title></html>",
                            content_type="text/html")  # fmt: skip

    def _titles(self) -> dict[str, str]:
        """Every alias the WebUI accepts for a checkpoint → its relative file name."""
        aliases = {}
        for name, short in self.checkpoints:
            stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
            model_name = name.rsplit(".", 1)[0].replace("/", "_")
            for alias in (f"{name} [{short}]", name, model_name, short, stem):
                aliases[alias] = name
        return aliases

    async def h_sd_models(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"title": f"{name} [{short}]", "model_name": name.rsplit(".", 1)[0].replace("/", "_"),
             "hash": short, "sha256": short * 6, "filename": f"/models/Stable-diffusion/{name}",
             "config": None}
            for name, short in self.checkpoints
        ])  # fmt: skip

    async def h_samplers(self, request: web.Request) -> web.Response:
        return web.json_response([{"name": n, "aliases": a, "options": {}} for n, a in SAMPLERS])

    async def h_schedulers(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"name": n, "label": label, "aliases": None, "default_rho": -1,
             "need_inner_model": False}
            for n, label in SCHEDULERS
        ])  # fmt: skip

    async def h_upscalers(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"name": n, "model_name": m, "model_path": f"/models/ESRGAN/{m}.pth" if m else None,
             "model_url": None, "scale": s}
            for n, m, s in UPSCALERS
        ])  # fmt: skip

    async def h_loras(self, request: web.Request) -> web.Response:
        return web.json_response([
            {"name": n, "alias": n, "path": f"/models/Lora/{n}.safetensors", "metadata": {}}
            for n in LORAS
        ])  # fmt: skip

    async def h_vae(self, request: web.Request) -> web.Response:
        files = ["sdxl_vae.safetensors", "vae-ft-mse-840000-ema-pruned.safetensors"]
        if self.forge:
            files += ["clip_l.safetensors", "t5xxl_fp8_e4m3fn.safetensors"]
        return web.json_response([{"model_name": f, "filename": f"/models/VAE/{f}"} for f in files])

    async def h_options(self, request: web.Request) -> web.Response:
        titles = {v: k for k, v in self._titles().items() if "[" in k}
        return web.json_response({"sd_model_checkpoint": titles.get(self.current_model, ""),
                                  "samples_format": "png", "live_previews_enable": True})  # fmt: skip

    async def h_memory(self, request: web.Request) -> web.Response:
        total = 24 * 2**30
        return web.json_response({"ram": {"free": 2**34, "used": 2**33, "total": 2**35},
                                  "cuda": {"system": {"free": total // 2, "used": total // 2,
                                                      "total": total}}})  # fmt: skip

    async def h_progress(self, request: web.Request) -> web.Response:
        state = dict(self.state)
        steps = state["sampling_steps"] or 1
        progress = state["sampling_step"] / steps if state["job"] else 0.0
        image = self.current_image if request.query.get("skip_current_image") != "true" else None
        return web.json_response({"progress": progress, "eta_relative": 0.0, "state": state,
                                  "current_image": image, "textinfo": None})  # fmt: skip

    async def h_cn_models(self, request: web.Request) -> web.Response:
        return web.json_response({"model_list": CONTROLNET_MODELS})

    async def h_cn_modules(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"module_list": CONTROLNET_MODULES}
        if not self.forge:
            body["module_detail"] = {m: {} for m in CONTROLNET_MODULES}
        return web.json_response(body)

    async def h_cn_version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": 3})

    async def h_cn_settings(self, request: web.Request) -> web.Response:
        return web.json_response({"control_net_unit_count": 3})

    async def h_interrupt(self, request: web.Request) -> web.Response:
        self.interrupts += 1
        if self.state["job"]:
            self.state["interrupted"] = True
        return web.json_response({})

    # Validation ----------------------------------------------------------------------------

    @staticmethod
    def _type_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []

        def bad(name: str, msg: str, kind: str) -> None:
            errors.append({"loc": ["body", name], "msg": msg, "type": kind})

        for name, value in body.items():
            if name in INT_FIELDS and (isinstance(value, (str, list, dict)) or value is None):
                if not (isinstance(value, str) and value.lstrip("-").isdigit()):
                    bad(name, "value is not a valid integer", "type_error.integer")
            elif name in FLOAT_FIELDS and not isinstance(value, (int, float)):
                bad(name, "value is not a valid float", "type_error.float")
            elif name in STR_FIELDS and not isinstance(value, str):
                bad(name, "str type expected", "type_error.str")
            elif name in BOOL_FIELDS and not isinstance(value, bool):
                bad(name, "value could not be parsed to a boolean", "type_error.bool")
            elif name in DICT_FIELDS and not isinstance(value, dict):
                bad(name, "value is not a valid dict", "type_error.dict")
            elif name == "init_images" and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                bad(name, "value is not a valid list", "type_error.list")
        return errors

    def _sampler(self, body: dict[str, Any]) -> tuple[str | None, str]:
        name = body.get("sampler_name") or body.get("sampler_index") or "Euler"
        scheduler = body.get("scheduler") or "Automatic"
        names = {n: n for n, _ in SAMPLERS}
        for n, aliases in SAMPLERS:
            names.update({a: n for a in aliases})
        if name not in names:  # legacy "DPM++ 2M Karras": sampler and scheduler in one
            for _, label in SCHEDULERS:
                if name.endswith(" " + label) and name[: -len(label) - 1] in names:
                    name, scheduler = name[: -len(label) - 1], label
        known = {n for n, _ in SCHEDULERS} | {label for _, label in SCHEDULERS}
        if scheduler not in known:
            scheduler = "Automatic"  # (inference) an unknown scheduler falls back silently
        return names.get(name), scheduler

    @staticmethod
    def _image(value: Any) -> Image.Image | None:
        if not isinstance(value, str):
            return None
        try:
            data = base64.b64decode(value.split(";base64,", 1)[-1], validate=True)
            return Image.open(io.BytesIO(data))
        except (binascii.Error, OSError, ValueError):
            return None

    # Generation ----------------------------------------------------------------------------

    async def h_txt2img(self, request: web.Request) -> web.Response:
        return await self._generate(request, img2img=False)

    async def h_img2img(self, request: web.Request) -> web.Response:
        return await self._generate(request, img2img=True)

    async def _read(self, request: web.Request, route: str) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"detail": [{"loc": ["body"], "msg": "invalid json",
                                                  "type": "value_error.jsondecode"}]},
                                     status=422)  # fmt: skip
        if not isinstance(body, dict):
            return web.json_response({"detail": [{"loc": ["body"], "msg": "value is not a valid "
                                                  "dict", "type": "type_error.dict"}]},
                                     status=422)  # fmt: skip
        self.received.append((route, body))
        errors = self._type_errors(body)
        if errors:
            return web.json_response({"detail": errors}, status=422)
        return body

    async def _generate(self, request: web.Request, img2img: bool) -> web.Response:
        body = await self._read(request, "img2img" if img2img else "txt2img")
        if isinstance(body, web.Response):
            return body
        sampler, scheduler = self._sampler(body)
        if sampler is None:
            return self.error(400, "Sampler not found")
        init = None
        if img2img:
            images = body.get("init_images") or []
            init = self._image(images[0]) if images else None
            if init is None:
                return self.error(404, "Init image not found")
        units = ((body.get("alwayson_scripts") or {}).get("controlnet") or {}).get("args") or []
        if units and not self.controlnet:
            units = []  # no such script: alwayson_scripts for it are ignored
        for unit in units:
            if not isinstance(unit, dict):
                return self.error(422, "ControlNet unit is not an object")
            model, module = unit.get("model", "None"), unit.get("module", "none")
            if model not in (*CONTROLNET_MODELS, "None") or module not in CONTROLNET_MODULES:
                return self.error(422, f"Invalid ControlNet model or module: {model} / {module}")
        async with self._lock:  # the WebUI's queue_lock: one generation at a time
            return await self._run(request, body, sampler, scheduler, init, units, img2img)

    async def _run(
        self, request: web.Request, body: dict[str, Any], sampler: str, scheduler: str, init: Image.Image | None,
        units: list[dict[str, Any]], img2img: bool,
    ) -> web.Response:  # fmt: skip
        previous_model = self.current_model
        wanted = (body.get("override_settings") or {}).get("sd_model_checkpoint")
        if wanted in self._titles():  # anything else is silently dropped
            self.current_model = self._titles()[wanted]
        self._jobs += 1
        timestamp = f"20261130{self._jobs:06d}"
        steps = int(body.get("steps", 50))
        self.state = {**self._idle_state(), "job": "scripts_img2img" if img2img else
                      "scripts_txt2img", "job_count": 1, "job_timestamp": timestamp,
                      "sampling_steps": steps}  # fmt: skip
        try:
            if self.oom:
                return self.error(500, "", "CUDA out of memory. Tried to allocate 2.00 GiB",
                                  kind="OutOfMemoryError")  # fmt: skip
            w, h = int(body.get("width", 512)), int(body.get("height", 512))
            for step in range(1, steps + 1):
                if self.state["interrupted"]:
                    break
                self.state["sampling_step"] = step
                self.current_image = _b64(_png(_pattern(w // 4 or 1, h // 4 or 1, step)))
                while not (self.running.is_set() or self.state["interrupted"]):
                    await asyncio.sleep(0.01)  # held by a test
                await asyncio.sleep(0)
            answer = self._answer(body, sampler, scheduler, init, units, w, h, timestamp)
            if self.cut_answers and request.transport is not None:
                request.transport.close()
            return answer
        finally:
            if body.get("override_settings_restore_afterwards", True):
                self.current_model = previous_model
            self.state = self._idle_state()
            self.current_image = None

    def _answer(
        self, body: dict[str, Any], sampler: str, scheduler: str, init: Image.Image | None,
        units: list[dict[str, Any]], w: int, h: int, timestamp: str,
    ) -> web.Response:  # fmt: skip
        batch = int(body.get("batch_size", 1)) * int(body.get("n_iter", 1))
        seed = int(body.get("seed", -1))
        seed = seed if seed >= 0 else 1234
        prompt = str(body.get("prompt", ""))
        images = [self._picture(body, init, w, h, seed + i, prompt) for i in range(batch)]
        if body.get("save_images", False):
            self.saved += [_png(i) for i in images]
        listed = list(images)
        first = 0
        if batch > 1:  # return_grid: the grid comes first
            grid = Image.new("RGB", (w * batch, h))
            for i, image in enumerate(images):
                grid.paste(image, (w * i, 0))
            listed.insert(0, grid)
            first = 1
        for unit in units:
            if unit.get("save_detected_map", True) and unit.get("module", "none") != "none":
                listed.append(Image.new("RGB", (w, h), (255, 255, 255)))
        name = self.current_model
        info = {
            "prompt": prompt, "all_prompts": [prompt] * batch,
            "negative_prompt": body.get("negative_prompt", ""), "seed": seed,
            "all_seeds": [seed + i for i in range(batch)], "width": w, "height": h,
            "sampler_name": sampler, "scheduler": scheduler, "cfg_scale": body.get("cfg_scale", 7),
            "steps": body.get("steps", 50), "batch_size": body.get("batch_size", 1),
            "sd_model_name": name.rsplit("/", 1)[-1].rsplit(".", 1)[0],
            "sd_model_hash": dict(self.checkpoints).get(name, ""),
            "denoising_strength": body.get("denoising_strength"),
            "index_of_first_image": first, "infotexts": [prompt] * len(listed),
            "job_timestamp": timestamp, "extra_generation_params": {},
            "version": FORGE_VERSION if self.forge else A1111_VERSION,
        }  # fmt: skip
        parameters = {**body, "init_images": None, "mask": None}
        return web.json_response({"images": [_b64(_png(i)) for i in listed],
                                  "parameters": parameters, "info": json.dumps(info)})  # fmt: skip

    def _picture(
        self, body: dict[str, Any], init: Image.Image | None, w: int, h: int, seed: int, prompt: str
    ) -> Image.Image:
        generated = _pattern(w, h, seed + sum(map(ord, prompt)) + sum(map(ord, self.current_model)))
        if init is None:
            return Image.fromarray(generated)
        original = np.asarray(init.convert("RGB").resize((w, h)), np.float32)
        strength = float(body.get("denoising_strength", 0.75))
        mask_image = self._image(body.get("mask"))
        if mask_image is None:
            mixed = original * (1 - strength) + generated * strength
            return Image.fromarray(mixed.round().astype(np.uint8))
        if mask_image.mode in ("RGBA", "LA") and mask_image.getextrema()[-1][0] < 255:
            mask = mask_image.getchannel("A")  # transparency is the mask
        else:
            mask = mask_image.convert("L")
        mask = mask.resize((w, h))
        blur = int(body.get("mask_blur", 4))
        if blur > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(blur))
        m = np.asarray(mask, np.float32) / 255
        if int(body.get("inpainting_mask_invert", 0)):
            m = 1 - m
        latent = (m >= 0.5)[..., None]  # mask_round
        fill = int(body.get("inpainting_fill", 0))
        start = generated if fill == 2 else original
        painted = np.where(latent, start * (1 - strength) + generated * strength, original)
        # The overlay: the init image pasted back outside the (blurred) mask.
        result = original * (1 - m[..., None]) + painted * m[..., None]
        return Image.fromarray(result.round().astype(np.uint8))

    async def h_extras(self, request: web.Request) -> web.Response:
        body = await self._read(request, "extras")
        if isinstance(body, web.Response):
            return body
        image = self._image(body.get("image"))
        if image is None:
            return self.error(404, "Image not found")
        names = {n for n, _, _ in UPSCALERS}
        if body.get("upscaler_1", "None") not in names:
            return self.error(400, "Upscaler not found")
        if int(body.get("resize_mode", 0)) == 1:
            size = (int(body["upscaling_resize_w"]), int(body["upscaling_resize_h"]))
        else:
            factor = float(body.get("upscaling_resize", 2))
            size = (round(image.width * factor), round(image.height * factor))
        result = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        return web.json_response({"html_info": "", "image": _b64(_png(result))})


def _pattern(w: int, h: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, 3)
    ys, xs = np.mgrid[0:h, 0:w]
    ramp = ((xs * 255 // max(w - 1, 1)) + (ys * 128 // max(h - 1, 1)))[..., None]
    return ((base + ramp) % 256).astype(np.uint8)


def _png(image: Image.Image | np.ndarray) -> bytes:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


async def _serve(fake: FakeWebUI, host: str, port: int) -> None:
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    print(f"fake {'Forge' if fake.forge else 'A1111'} WebUI API on http://{host}:{port}",
          flush=True)  # fmt: skip
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--forge", action="store_true")
    parser.add_argument("--no-api", action="store_true", help="as if started without --api")
    parser.add_argument("--auth", default=None, metavar="USER:PASS")
    args = parser.parse_args()
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    fake = FakeWebUI(forge=args.forge, api=not args.no_api, auth=auth)  # type: ignore[arg-type]
    asyncio.run(_serve(fake, args.host, args.port))


if __name__ == "__main__":
    main()
