"""A tiny executor of ComfyUI core nodes for the fake server (numpy + Pillow, tests only).

Image nodes are implemented for real (scaling, masks, blur, compositing, alpha), so an inpaint
graph run through it really leaves the pixels outside the mask unchanged. "Sampling" paints a
deterministic colour derived from seed, prompt, LoRAs and ControlNets, blended by denoise.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image


class ExecutionError(Exception):
    def __init__(self, node_id: str, node_type: str, message: str) -> None:
        super().__init__(message)
        self.node_id = node_id
        self.node_type = node_type


def _to_png(array: np.ndarray) -> bytes:
    # Like ComfyUI's SaveImage: scale by 255 and truncate (not round).
    data = np.clip(array * 255.0, 0, 255).astype(np.uint8)
    mode = "RGBA" if data.shape[-1] == 4 else "RGB"
    buffer = io.BytesIO()
    Image.fromarray(data, mode).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    channels = [
        np.asarray(
            Image.fromarray(array[..., c].astype(np.float32), "F").resize(
                (width, height), Image.BILINEAR
            )
        )
        for c in range(array.shape[-1])
    ]
    return np.stack(channels, -1)


def _repeat_to_batch(array: np.ndarray, size: int) -> np.ndarray:
    """comfy.utils.repeat_to_batch_size: cut or repeat along the batch axis."""
    if len(array) >= size:
        return array[:size]
    return np.concatenate([array] * -(-size // len(array)))[:size]


def _resize_masks(mask: np.ndarray, width: int, height: int) -> np.ndarray:
    mask = mask.reshape((-1, *mask.shape[-2:]))
    if mask.shape[1:] == (height, width):
        return mask
    return np.stack([_resize(m[..., None], width, height)[..., 0] for m in mask])


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def _colour(*parts: Any) -> np.ndarray:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return np.array([digest[0], digest[1], digest[2]], np.float32) / 255


def _entries(conditioning: Any) -> list[tuple[str, tuple, np.ndarray | None, float]]:
    """A conditioning as ComfyUI's list of entries: (text, marks, mask or None, strength)."""
    if conditioning[0] == "conds":
        return list(conditioning[1])
    return [(conditioning[1], conditioning[2], None, 1.0)]


def _prompt_colour(positive: Any, seed: int, model: Any, size: tuple[int, int]) -> np.ndarray:
    """The colour the fake sampler paints: one per prompt (and seed, LoRAs, ControlNets).
    Masked entries (regions) are weighed per pixel by their mask, as ComfyUI's sampler
    weighs each conditioning's prediction; where no entry has weight the result is 0."""
    if positive[0] != "conds":
        return _colour(seed, positive[1], model, positive[2])
    h, w = size
    total = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    for text, marks, mask, strength in positive[1]:
        colour = _colour(seed, text, model, marks)
        m = np.ones((h, w, 1), np.float32) if mask is None else _resize(mask[..., None], w, h)
        total += colour * m * strength
        weight += m * strength
    return np.where(weight > 1e-6, total / np.maximum(weight, 1e-6), 0.0)


class Executor:
    def __init__(self, graph: dict[str, Any], load_input: Callable[[str], bytes]) -> None:
        self.graph = graph
        self.load_input = load_input
        self.cache: dict[str, tuple[Any, ...]] = {}
        self.outputs: dict[str, list[bytes]] = {}
        # Links still to be read per node: an output is dropped once its last reader ran (a
        # tiled upscale chains hundreds of full-size images).
        self.readers: dict[str, int] = {}
        for node in graph.values():
            for v in node.get("inputs", {}).values():
                if _is_link(v):
                    self.readers[v[0]] = self.readers.get(v[0], 0) + 1

    def value(self, value: Any) -> Any:
        if _is_link(value):
            result = self.run(value[0])[value[1]]
            self.readers[value[0]] -= 1
            if self.readers[value[0]] <= 0:
                self.cache.pop(value[0], None)
            return result
        return value

    def run(self, node_id: str) -> tuple[Any, ...]:
        if node_id not in self.cache:
            node = self.graph[node_id]
            inputs = {k: self.value(v) for k, v in node["inputs"].items()}
            method = getattr(self, "n_" + node["class_type"], None)
            if method is None:
                raise ExecutionError(
                    node_id,
                    node["class_type"],
                    f"node {node['class_type']} is not supported by the fake executor",
                )
            try:
                self.cache[node_id] = method(node_id=node_id, **inputs)
            except ExecutionError:
                raise
            except Exception as e:
                raise ExecutionError(node_id, node["class_type"], str(e)) from e
        return self.cache[node_id]

    # Models and conditioning
    def n_CheckpointLoaderSimple(self, node_id: str, ckpt_name: str) -> tuple[Any, ...]:
        return (("model", ckpt_name, ()), ("clip", ckpt_name), ("vae", ckpt_name))

    def n_VAELoader(self, node_id: str, vae_name: str) -> tuple[Any, ...]:
        return (("vae", vae_name),)

    def n_LoraLoader(
        self,
        node_id: str,
        model: Any,
        clip: Any,
        lora_name: str,
        strength_model: float,
        strength_clip: float,
    ) -> tuple[Any, ...]:
        return ((model[0], model[1], (*model[2], (lora_name, strength_model))), clip)

    def n_CLIPTextEncode(self, node_id: str, text: str, clip: Any) -> tuple[Any, ...]:
        return (("cond", text, ()),)

    def n_ConditioningSetMask(
        self,
        node_id: str,
        conditioning: Any,
        mask: np.ndarray,
        strength: float,
        set_cond_area: str,
    ) -> tuple[Any, ...]:
        # Like ComfyUI: every entry of the conditioning gets the mask (a 2-D mask becomes a
        # batch of one) and the strength; "mask bounds" would crop the area, not faked.
        if set_cond_area != "default":
            raise ValueError("the fake executor knows set_cond_area 'default' only")
        masks = mask.reshape((-1, *mask.shape[-2:]))
        return (
            (
                "conds",
                [(t, marks, masks[0], strength) for t, marks, _, _ in _entries(conditioning)],
            ),
        )

    def n_ConditioningCombine(
        self, node_id: str, conditioning_1: Any, conditioning_2: Any
    ) -> tuple[Any, ...]:
        return (("conds", _entries(conditioning_1) + _entries(conditioning_2)),)

    def n_ControlNetLoader(self, node_id: str, control_net_name: str) -> tuple[Any, ...]:
        return (("controlnet", control_net_name),)

    def n_ControlNetApplyAdvanced(
        self,
        node_id: str,
        positive: Any,
        negative: Any,
        control_net: Any,
        image: np.ndarray,
        strength: float,
        start_percent: float,
        end_percent: float,
        vae: Any = None,
    ) -> tuple[Any, ...]:
        mark = (control_net[1], round(strength, 3), float(image.mean()))
        if positive[0] == "conds":  # regions: every entry is guided
            entries = [(t, (*marks, mark), m, st) for t, marks, m, st in positive[1]]
            return (("conds", entries), negative)
        return ((positive[0], positive[1], (*positive[2], mark)), negative)

    # Latents
    def n_EmptyLatentImage(
        self, node_id: str, width: int, height: int, batch_size: int
    ) -> tuple[Any, ...]:
        return (
            {
                "samples": np.zeros((batch_size, height // 8, width // 8, 3), np.float32),
                "mask": None,
            },
        )

    def _encode(self, pixels: np.ndarray) -> np.ndarray:
        b, h, w, _ = pixels.shape
        return np.stack([_resize(p[..., :3], max(1, w // 8), max(1, h // 8)) for p in pixels])

    def n_VAEEncode(self, node_id: str, pixels: np.ndarray, vae: Any) -> tuple[Any, ...]:
        return ({"samples": self._encode(pixels), "mask": None},)

    def n_VAEEncodeForInpaint(
        self, node_id: str, pixels: np.ndarray, vae: Any, mask: np.ndarray, grow_mask_by: int
    ) -> tuple[Any, ...]:
        return ({"samples": self._encode(pixels), "mask": mask},)

    def n_SetLatentNoiseMask(
        self, node_id: str, samples: dict, mask: np.ndarray
    ) -> tuple[Any, ...]:
        return ({"samples": samples["samples"], "mask": mask},)

    def n_RepeatLatentBatch(self, node_id: str, samples: dict, amount: int) -> tuple[Any, ...]:
        return (
            {"samples": np.concatenate([samples["samples"]] * amount), "mask": samples["mask"]},
        )

    def n_KSampler(
        self,
        node_id: str,
        model: Any,
        seed: int,
        steps: int,
        cfg: float,
        sampler_name: str,
        scheduler: str,
        positive: Any,
        negative: Any,
        latent_image: dict,
        denoise: float,
    ) -> tuple[Any, ...]:
        samples = latent_image["samples"]
        out = []
        for i, latent in enumerate(samples):
            colour = _prompt_colour(positive, seed + i, model[2], latent.shape[:2])
            result = latent * (1 - denoise) + colour * denoise
            mask = latent_image["mask"]
            if mask is not None:
                h, w = latent.shape[:2]
                m = _resize(mask[min(i, len(mask) - 1)][..., None], w, h)
                result = latent * (1 - m) + result * m
            out.append(result)
        return ({"samples": np.stack(out).astype(np.float32), "mask": None},)

    def n_VAEDecode(self, node_id: str, samples: dict, vae: Any) -> tuple[Any, ...]:
        return (np.stack([np.repeat(np.repeat(s, 8, 0), 8, 1) for s in samples["samples"]]),)

    # Images and masks
    def n_LoadImage(self, node_id: str, image: str) -> tuple[Any, ...]:
        pil = Image.open(io.BytesIO(self.load_input(image))).convert("RGBA")
        array = np.asarray(pil, np.float32) / 255
        return (array[None, ..., :3], (1 - array[..., 3])[None])

    def n_LoadImageMask(self, node_id: str, image: str, channel: str) -> tuple[Any, ...]:
        pil = Image.open(io.BytesIO(self.load_input(image))).convert("RGBA")
        array = np.asarray(pil, np.float32) / 255
        mask = array[..., "rgba".index(channel[0])]
        return ((1 - mask if channel == "alpha" else mask)[None],)

    def n_ImageScale(
        self,
        node_id: str,
        image: np.ndarray,
        upscale_method: str,
        width: int,
        height: int,
        crop: str,
    ) -> tuple[Any, ...]:
        return (np.stack([_resize(i, width, height) for i in image]),)

    def n_MaskToImage(self, node_id: str, mask: np.ndarray) -> tuple[Any, ...]:
        return (np.repeat(mask[..., None], 3, -1),)

    def n_ImageToMask(self, node_id: str, image: np.ndarray, channel: str) -> tuple[Any, ...]:
        return (image[..., "rgba".index(channel[0])],)

    def n_InvertMask(self, node_id: str, mask: np.ndarray) -> tuple[Any, ...]:
        return (1 - mask,)

    def n_MaskComposite(
        self,
        node_id: str,
        destination: np.ndarray,
        source: np.ndarray,
        x: int,
        y: int,
        operation: str,
    ) -> tuple[Any, ...]:
        # Like ComfyUI: the source pasted at x, y with the operation, the result in 0…1.
        out = destination.reshape((-1, *destination.shape[-2:])).astype(np.float32).copy()
        src = source.reshape((-1, *source.shape[-2:]))[:, : out.shape[1] - y, : out.shape[2] - x]
        h, w = src.shape[1:]
        part = out[:, y : y + h, x : x + w]
        ops = {
            "add": lambda a, b: a + b, "subtract": lambda a, b: a - b,
            "multiply": lambda a, b: a * b,
        }  # fmt: skip
        if operation not in ops:
            raise ValueError(f"the fake executor knows {sorted(ops)} only")
        out[:, y : y + h, x : x + w] = ops[operation](part, src)
        return (np.clip(out, 0.0, 1.0),)

    def n_GrowMask(
        self, node_id: str, mask: np.ndarray, expand: int, tapered_corners: bool
    ) -> tuple[Any, ...]:
        # Like ComfyUI: |expand| grey dilations (erosions) with a 3×3 footprint, a cross when
        # the corners are tapered.
        pick = np.maximum if expand > 0 else np.minimum
        offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        if tapered_corners:
            offsets = [(dy, dx) for dy, dx in offsets if dy == 0 or dx == 0]
        out = mask.reshape((-1, *mask.shape[-2:])).astype(np.float32)
        h, w = out.shape[1:]
        for _ in range(abs(expand)):
            padded = np.pad(out, ((0, 0), (1, 1), (1, 1)), mode="edge")
            result = out
            for dy, dx in offsets:
                result = pick(result, padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w])
            out = result
        return (out,)

    def n_ImageBlur(
        self, node_id: str, image: np.ndarray, blur_radius: int, sigma: float
    ) -> tuple[Any, ...]:
        # Like ComfyUI: a Gaussian over linspace(-1, 1) (sigma relative to the radius), with
        # reflected borders. The 2D kernel is separable. torch's reflect padding (F.pad) needs
        # the padding below each side, or the node fails.
        if blur_radius == 0:
            return (image,)
        height, width = image.shape[1:3]
        if blur_radius >= height or blur_radius >= width:
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({blur_radius}, {blur_radius}) at dimension 3 of "
                f"input [{image.shape[0]}, {image.shape[3]}, {height}, {width}]"
            )
        offsets = np.linspace(-1, 1, 2 * blur_radius + 1)
        kernel = np.exp(-(offsets**2) / (2 * sigma**2))
        kernel /= kernel.sum()
        out = image
        for axis in (1, 2):
            pad = [(0, 0)] * out.ndim
            pad[axis] = (blur_radius, blur_radius)
            padded = np.pad(out, pad, mode="reflect")
            size = out.shape[axis]
            out = sum(
                w * np.take(padded, range(i, i + size), axis=axis) for i, w in enumerate(kernel)
            )
        return (np.clip(out, 0, 1).astype(np.float32),)

    def n_ImageCompositeMasked(
        self,
        node_id: str,
        destination: np.ndarray,
        source: np.ndarray,
        x: int,
        y: int,
        resize_source: bool,
        mask: np.ndarray | None = None,
    ) -> tuple[Any, ...]:
        # Like ComfyUI (node_helpers' composite with multiplier 1): as many images as the
        # destination; source and mask are repeated (or cut) to that batch, the mask resized to
        # the source; the source placed at x, y (clamped to the destination) and cut at its
        # right and bottom edges.
        if resize_source:
            raise ValueError("the fake executor composites without resizing the source only")
        b, h, w = destination.shape[:3]
        src = _repeat_to_batch(source, b)
        if mask is None:
            m = np.ones(src.shape[:3], np.float32)
        else:
            m = _repeat_to_batch(_resize_masks(mask, src.shape[2], src.shape[1]), b)
        x, y = max(-src.shape[2], min(x, w)), max(-src.shape[1], min(y, h))
        if x < 0 or y < 0:
            raise ValueError("the fake executor composites at x, y >= 0 only")
        src, m = src[:, : h - y, : w - x], m[:, : h - y, : w - x, None]
        out = destination.copy()
        sh, sw = src.shape[1:3]
        below = destination[:, y : y + sh, x : x + sw]
        out[:, y : y + sh, x : x + sw] = src * m + below * (1 - m)
        return (out,)

    def n_ImageCrop(
        self, node_id: str, image: np.ndarray, width: int, height: int, x: int, y: int
    ) -> tuple[Any, ...]:
        # Like ComfyUI: x and y moved inside the image, the crop cut at its edges.
        x, y = min(x, image.shape[2] - 1), min(y, image.shape[1] - 1)
        return (image[:, y : y + height, x : x + width],)

    def n_SolidMask(self, node_id: str, value: float, width: int, height: int) -> tuple[Any, ...]:
        return (np.full((1, height, width), value, np.float32),)

    def n_FeatherMask(
        self, node_id: str, mask: np.ndarray, left: int, top: int, right: int, bottom: int
    ) -> tuple[Any, ...]:
        # Like ComfyUI 0.33 (0.8.0 fades the right and bottom edges one pixel off; the builder
        # only fades left and top edges): pixel i from an edge is multiplied by (i + 1) / width.
        out = mask.reshape((-1, *mask.shape[-2:])).astype(np.float32).copy()
        h, w = out.shape[1:]
        left, right, top, bottom = min(left, w), min(right, w), min(top, h), min(bottom, h)
        for i in range(left):
            out[:, :, i] *= (i + 1) / left
        for i in range(right):
            out[:, :, -(i + 1)] *= (i + 1) / right
        for i in range(top):
            out[:, i, :] *= (i + 1) / top
        for i in range(bottom):
            out[:, -(i + 1), :] *= (i + 1) / bottom
        return (out,)

    def n_JoinImageWithAlpha(
        self, node_id: str, image: np.ndarray, alpha: np.ndarray
    ) -> tuple[Any, ...]:
        # Like ComfyUI: alpha = 1 - mask (resized to the image), and only as many images as
        # the smaller of the two batches.
        count = min(len(image), len(alpha))
        a = 1 - _resize_masks(alpha, image.shape[2], image.shape[1])
        return (np.concatenate([image[:count, ..., :3], a[:count, ..., None]], -1),)

    def n_RepeatImageBatch(self, node_id: str, image: np.ndarray, amount: int) -> tuple[Any, ...]:
        return (np.concatenate([image] * amount),)

    def n_Canny(
        self, node_id: str, image: np.ndarray, low_threshold: float, high_threshold: float
    ) -> tuple[Any, ...]:
        gray = image[..., :3].mean(-1)
        gx = np.abs(np.diff(gray, axis=2, prepend=gray[:, :, :1]))
        gy = np.abs(np.diff(gray, axis=1, prepend=gray[:, :1, :]))
        edges = ((gx + gy) > low_threshold * 0.25).astype(np.float32)
        return (np.repeat(edges[..., None], 3, -1),)

    def n_UpscaleModelLoader(self, node_id: str, model_name: str) -> tuple[Any, ...]:
        return (("upscaler", model_name),)

    def n_ImageScaleBy(
        self, node_id: str, image: np.ndarray, upscale_method: str, scale_by: float
    ) -> tuple[Any, ...]:
        h, w = image.shape[1:3]
        width, height = round(w * scale_by), round(h * scale_by)
        return (np.stack([_resize(i, width, height) for i in image]),)

    def n_ImageUpscaleWithModel(
        self, node_id: str, upscale_model: Any, image: np.ndarray
    ) -> tuple[Any, ...]:
        if image.shape[-1] != 3:
            raise ValueError("upscale models take RGB images (got an image with alpha)")
        return (np.repeat(np.repeat(image, 4, 1), 4, 2),)

    def n_SaveImage(
        self, node_id: str, images: np.ndarray, filename_prefix: str
    ) -> tuple[Any, ...]:
        self.outputs[node_id] = [_to_png(i) for i in images]
        return ()

    def n_PreviewImage(self, node_id: str, images: np.ndarray) -> tuple[Any, ...]:
        return self.n_SaveImage(node_id, images, "preview")

    def n_SaveImageWebsocket(self, node_id: str, images: np.ndarray) -> tuple[Any, ...]:
        return self.n_SaveImage(node_id, images, "websocket")


OUTPUT_NODES = ("SaveImage", "PreviewImage", "SaveImageWebsocket")
STREAMING_NODES = ("SaveImageWebsocket",)  # images go over the websocket only


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG of a uint8 array (H×W gray, H×W×3 RGB or H×W×4 RGBA); for tests."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """A PNG's pixels as a uint8 array, for tests."""
    return np.asarray(Image.open(io.BytesIO(data)))


def execute(graph: dict[str, Any], load_input: Callable[[str], bytes]) -> dict[str, list[bytes]]:
    """Run ``graph``; return PNG bytes per output node. Raises ExecutionError."""
    executor = Executor(graph, load_input)
    for node_id, node in graph.items():
        if node["class_type"] in OUTPUT_NODES:
            executor.run(node_id)
    return executor.outputs
