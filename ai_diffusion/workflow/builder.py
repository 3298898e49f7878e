"""From a request to a ComfyUI API graph, with core nodes only.

Reads like the graph: load the model (a checkpoint, or split files: diffusion model, text
encoders, VAE), apply LoRAs, encode prompts, apply ControlNets, prepare the latent (empty,
encoded image, masked, or the image to edit), sample, decode, scale back, composite the
inpaint region with a soft edge, save. The family (``families.py``) chooses the nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..request import Extent, GenerationRequest, InvalidRequest, Mode
from .discovery import Override, Pieces, ServerFiles, require_ready, resolve_pieces
from .families import Edit, Family, family_of, require_supported
from .geometry import sampling_extent
from .graph import Output
from .loras import extract_loras
from .object_info import ObjectInfo
from .regions import regional_prompt
from .steps import SCALE_METHOD, Model, Steps, input_name
from .upscale_tiles import TiledRefine
from .validate import validate_graph, validate_structure

OUTPUT_PREFIX = "ai_diffusion"
STREAM_NODE = "SaveImageWebsocket"
__all__ = ["OUTPUT_PREFIX", "Workflow", "build_workflow", "input_name"]


@dataclass
class Workflow:
    """An API graph plus the input files it loads (uploaded by the client first)."""

    graph: dict[str, dict]
    inputs: dict[str, bytes] = field(default_factory=dict)
    output_node: str = ""
    extent: Extent = Extent(0, 0)
    mode: Mode = Mode.txt2img
    streamed: bool = False  # the output node sends its images over the websocket
    # Sampler nodes that are parts of one result (an upscale's tiles), in order. Empty: one
    # sampler, steps only.
    parts: tuple[str, ...] = ()

    @property
    def detached(self) -> bool:
        """Run without the live connection's per-node messages (the client follows the job by
        asking the server instead). ComfyUI sends, at every start, step and end of any node,
        the state of every node started so far: for a graph of several tiles (hundreds of
        nodes) that is far more data than the picture itself, so such a job is not followed
        step by step."""
        return len(self.parts) > 1


class _Builder(Steps):
    parts: tuple[str, ...] = ()  # the tiles' samplers, when the upscale refines

    def upscale(self, image: Output, size: Extent | None = None) -> Output:
        """``image`` (of ``size`` if known) through the upscale model, scaled to the size the
        request asks for (a factor of ``size``, or an extent), then refined in tiles if asked."""
        up = self.r.upscale
        if up is None:
            return image
        name = self.check_choice("UpscaleModelLoader", "model_name", up.model, "upscale model")
        loader = self.g.add1("UpscaleModelLoader", "UPSCALE_MODEL", model_name=name)
        image = self.g.add1("ImageUpscaleWithModel", "IMAGE", upscale_model=loader, image=image)
        target = up.size_for(size) if size is not None else up.extent
        if target is None:
            return image
        image = self.scale(image, target)
        if up.refine > 0:
            image, samplers = TiledRefine(self).refine(image, target)
            self.parts = tuple(samplers)
        return image

    def save(self, image: Output) -> str:
        if self.streams():
            return self.g.node(STREAM_NODE, images=image)
        return self.g.node("SaveImage", images=image, filename_prefix=OUTPUT_PREFIX)

    def streams(self) -> bool:
        """A streamed request, on a server whose nodes are known to include the websocket
        saver (ComfyUI ships it with its own repository; a server without it saves)."""
        return self.r.streamed and self.info is not None and STREAM_NODE in self.info

    # Modes --------------------------------------------------------------------------------

    def build(self) -> Workflow:
        r = self.r
        mode = r.mode
        if mode is Mode.upscale:
            assert r.image is not None
            image = self.upscale(self.load_image(r.image), r.image.extent)
            return self.finish(self.save(image), mode)

        family = self.family
        m = self.load_model()
        m, prompt = self.apply_loras(m, r.prompt)
        negative_text, _ = extract_loras(r.negative_prompt)
        target = r.image.extent if r.image is not None else r.extent
        size = sampling_extent(target, family.native, family.latent_multiple, r.resolution)
        if mode is Mode.edit:
            result = self.edit(m, prompt, negative_text, size, target)
            return self.finish(self.save(self.upscale(result, target)), mode)

        m = self.apply_model_patches(m, size)
        whole = self.encode_prompt(m.clip, prompt)
        raw = regional_prompt(self, m.clip, prompt, whole)
        negative = self.negative_for(m.clip, whole, negative_text)
        positive, negative = self.apply_controls(self.guide(raw), negative, m.vae)

        if mode is Mode.txt2img:
            latent = self.empty_latent(size)
            sampled = self.sample(m, positive, negative, latent, 1.0, size)
            result = self.decode_to(sampled, m, size, target)
        elif mode is Mode.img2img:
            assert r.image is not None
            pixels = self.to_size(self.load_image(r.image), target, size)
            latent = self.batch_latent(self.g.add1("VAEEncode", "LATENT", pixels=pixels, vae=m.vae))
            sampled = self.sample(m, positive, negative, latent, r.strength, size)
            result = self.decode_to(sampled, m, size, target)
        else:
            result = self.inpaint(m, positive, negative, size, target)
        return self.finish(self.save(self.upscale(result, target)), mode)

    def decode_to(self, latent: Output, m: Model, size: Extent, target: Extent) -> Output:
        image = self.g.add1("VAEDecode", "IMAGE", samples=latent, vae=m.vae)
        return self.to_size(image, size, target)

    def inpaint(
        self, m: Model, positive: Output, negative: Output, size: Extent, target: Extent
    ) -> Output:
        r = self.r
        assert r.image is not None and r.mask is not None
        original = self.load_image(r.image)
        soft = self.soften_mask(self.load_mask(r.mask), target)
        pixels = self.to_size(original, target, size)
        mask_small = soft if size == target else self.scale_mask(soft, size)
        if self.family.inpaint_conditioning:
            # Flow models: the masked image goes into the conditioning, and differential
            # diffusion follows the soft mask's grey levels while sampling.
            positive, negative, latent = self.g.add(
                "InpaintModelConditioning", ("CONDITIONING", "CONDITIONING", "LATENT"),
                positive=positive, negative=negative, vae=m.vae, pixels=pixels,
                mask=mask_small, noise_mask=True,
            )  # fmt: skip
            m = Model(self.g.add1("DifferentialDiffusion", "MODEL", model=m.model), m.clip, m.vae)
        elif r.strength >= 1.0:
            latent = self.g.add1(
                "VAEEncodeForInpaint",
                "LATENT",
                pixels=pixels,
                vae=m.vae,
                mask=mask_small,
                grow_mask_by=6,
            )
        else:
            encoded = self.g.add1("VAEEncode", "LATENT", pixels=pixels, vae=m.vae)
            latent = self.g.add1("SetLatentNoiseMask", "LATENT", samples=encoded, mask=mask_small)
        latent = self.batch_latent(latent)
        generated = self.decode_to(
            self.sample(m, positive, negative, latent, r.strength, size), m, size, target
        )
        return self.with_mask_alpha(generated, soft)

    def with_mask_alpha(self, generated: Output, soft: Output) -> Output:
        """The generated pixels with the soft mask as alpha. Whoever pastes the result (the
        Krita layer, the CLI) alpha-composites it onto the original, which blends
        generated·m + original·(1−m) exactly once; outside the mask alpha is 0 and the
        original stays untouched to the last bit. (Blending here as well would give the
        feather band mask² instead of mask.)"""
        # JoinImageWithAlpha stores 1 − mask as alpha: give it the inverted mask, as many as
        # the batch (it keeps the smaller of its two batches).
        alpha = self.g.add1("InvertMask", "MASK", mask=soft)
        batch = self.r.sampling.batch_size
        if batch > 1:
            alpha_image = self.repeat_image(self.g.add1("MaskToImage", "IMAGE", mask=alpha), batch)
            alpha = self.g.add1("ImageToMask", "MASK", image=alpha_image, channel="red")
        return self.g.add1("JoinImageWithAlpha", "IMAGE", image=generated, alpha=alpha)

    def edit(
        self, m: Model, prompt: str, negative_text: str, size: Extent, target: Extent
    ) -> Output:
        """Instruction edit of the image (in the selection's crop when there is a mask): the
        image at sampling size is both the reference and the latent's size."""
        r, f = self.r, self.family
        assert r.image is not None
        if not f.is_edit:
            raise InvalidRequest(
                f"{f.title} is not an instruction-editing model. Turn Edit off, or choose "
                "Flux.1 Kontext, Flux.2 Klein or Qwen-Image Edit."
            )
        if len(r.references) > f.max_references:
            raise InvalidRequest(
                f"{f.title} takes at most {f.max_references} reference image"
                f"{'s' if f.max_references != 1 else ''} besides the canvas "
                f"(got {len(r.references)}). Remove some reference layers."
            )
        if r.controls:
            raise InvalidRequest(
                f"ControlNet is not available in Edit mode ({f.title}). Remove the ControlNet "
                "layers, or turn Edit off."
            )
        original = self.load_image(r.image)
        pixels = self.to_size(original, target, size)
        encoded = self.g.add1("VAEEncode", "LATENT", pixels=pixels, vae=m.vae)
        references = [self.load_image(image) for image in r.references]
        if f.edit is Edit.kontext:
            raw = self.encode_prompt(m.clip, prompt)
            positive = self.g.add1(
                "ReferenceLatent", "CONDITIONING", conditioning=raw, latent=encoded
            )
            for reference in references:
                scaled = self.g.add1("FluxKontextImageScale", "IMAGE", image=reference)
                latent = self.g.add1("VAEEncode", "LATENT", pixels=scaled, vae=m.vae)
                positive = self.g.add1(
                    "ReferenceLatent", "CONDITIONING", conditioning=positive, latent=latent
                )
            positive = self.guide(positive)
            negative = self.negative_for(m.clip, raw, negative_text)
        elif f.edit is Edit.reference:
            positive, negative = self.reference_edit(m, prompt, negative_text, encoded, references)
        else:
            positive = self.encode_edit(m, prompt, pixels, references)
            negative = self.encode_edit(m, negative_text, pixels, references)
        sampled = self.sample(m, positive, negative, self.batch_latent(encoded), r.strength, size)
        generated = self.decode_to(sampled, m, size, target)
        if r.mask is None:
            return generated
        soft = self.soften_mask(self.load_mask(r.mask), target)
        return self.with_mask_alpha(generated, soft)

    def reference_edit(
        self, m: Model, prompt: str, negative_text: str, image: Output, references: list[Output]
    ) -> tuple[Output, Output]:
        """Flux.2: the image (already encoded) and each reference, scaled to about a megapixel,
        become reference latents of both the positive and the negative conditioning."""
        raw = self.encode_prompt(m.clip, prompt)
        positive, negative = raw, self.negative_for(m.clip, raw, negative_text)
        latents = [image]
        for reference in references:
            scaled = self.g.add1(
                "ImageScaleToTotalPixels", "IMAGE", image=reference, upscale_method=SCALE_METHOD,
                megapixels=1.0, resolution_steps=1,
            )  # fmt: skip
            latents.append(self.g.add1("VAEEncode", "LATENT", pixels=scaled, vae=m.vae))
        for latent in latents:
            positive = self.g.add1(
                "ReferenceLatent", "CONDITIONING", conditioning=positive, latent=latent
            )
            negative = self.g.add1(
                "ReferenceLatent", "CONDITIONING", conditioning=negative, latent=latent
            )
        return self.guide(positive), negative

    def encode_edit(self, m: Model, text: str, image: Output, references: list[Output]) -> Output:
        if self.family.edit is Edit.qwen:
            return self.g.add1(
                "TextEncodeQwenImageEdit", "CONDITIONING", clip=m.clip, prompt=text, vae=m.vae,
                image=image,
            )  # fmt: skip
        images = {f"image{i}": img for i, img in enumerate([image, *references], 1)}
        return self.g.add1(
            "TextEncodeQwenImageEditPlus", "CONDITIONING", clip=m.clip, prompt=text, vae=m.vae,
            **images,
        )  # fmt: skip

    def finish(self, output_node: str, mode: Mode) -> Workflow:
        r = self.r
        extent = r.image.extent if r.image is not None else r.extent
        if r.upscale is not None:
            extent = r.upscale.size_for(extent) or extent
        graph = self.g.to_api()
        if self.info is not None:
            validate_graph(graph, self.info, uploaded=self.inputs)
        else:
            validate_structure(graph)
        streamed = graph[output_node]["class_type"] == STREAM_NODE
        return Workflow(graph, dict(self.inputs), output_node, extent, mode, streamed, self.parts)


def _model_family_and_pieces(
    request: GenerationRequest, object_info: ObjectInfo | None, version: tuple[int, ...] | None
) -> tuple[Family, Pieces]:
    family = family_of(request.checkpoint, request.family)
    require_supported(family)
    files = None
    if object_info is not None:
        files = ServerFiles.from_object_info(object_info, version)
    if files is not None and request.kind is None and files.kind_of(request.checkpoint) is None:
        every = [*files.checkpoints, *files.diffusion_models]
        listed = ", ".join(every[:10]) or "none"
        raise InvalidRequest(
            f"The server has no model (checkpoint or diffusion model) named "
            f"'{request.checkpoint}'. Available: {listed}. Pick one of those, or copy the file "
            "into the server's models/checkpoints or models/diffusion_models folder and Refresh."
        )
    override = Override(None, request.text_encoders, request.vae, request.kind)
    pieces = resolve_pieces(request.checkpoint, family, files, override)
    require_ready(pieces, family)
    return family, pieces


def build_workflow(
    request: GenerationRequest,
    object_info: ObjectInfo | None = None,
    version: tuple[int, ...] | None = None,
) -> Workflow:
    """The API graph for ``request``. With ``object_info`` (the server's), model names, samplers
    and LoRAs are checked against what the server has, pieces a split model needs are found
    among the server's files, and the graph is validated. With ``version`` (the ComfyUI
    version the server reports), a family newer than the server is refused in words."""
    request.validate()
    if request.mode in (Mode.inpaint, Mode.edit) and request.image is not None:
        request = replace(request, extent=request.image.extent)
    if request.mode is Mode.upscale and request.upscale and not request.upscale.refine:
        return _Builder(request, object_info, family_of(""), None).build()
    family, pieces = _model_family_and_pieces(request, object_info, version)
    return _Builder(request, object_info, family, pieces).build()
