"""Backends: the servers and job APIs a generation can run on, behind one contract
(:mod:`.contract`). The ComfyUI websocket client (``ai_diffusion.comfy.ComfyClient``) is one of
them; job-API backends (serverless, WebUI) live in this package, one module each."""

from .contract import Backend, UploadProgress

__all__ = ["Backend", "UploadProgress"]
