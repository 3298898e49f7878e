"""Where the providers' APIs are: the public addresses, or others (a company proxy, the test
stand-ins) named by environment variables.

The top of the program (the CLI's ``pod`` command, the plugin inside Krita) reads the
environment once with :meth:`ProviderEndpoints.from_env` and passes the result down.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import UserError
from . import runpod, vast
from .provider import Provider

ENV_RUNPOD_API = "AI_DIFFUSION_RUNPOD_API"
ENV_RUNPOD_PROXY = "AI_DIFFUSION_RUNPOD_PROXY"
ENV_VAST_API = "AI_DIFFUSION_VAST_API"


@dataclass(frozen=True)
class ProviderEndpoints:
    runpod_api: str = runpod.DEFAULT_API
    runpod_proxy: str = runpod.DEFAULT_PROXY  # {pod_id} and {port} are filled in
    vast_api: str = vast.DEFAULT_API

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ProviderEndpoints:
        """The addresses, with those set in ``environ`` (empty values are ignored)."""
        endpoints = cls(
            runpod_api=environ.get(ENV_RUNPOD_API) or runpod.DEFAULT_API,
            runpod_proxy=environ.get(ENV_RUNPOD_PROXY) or runpod.DEFAULT_PROXY,
            vast_api=environ.get(ENV_VAST_API) or vast.DEFAULT_API,
        )
        endpoints.check()
        return endpoints

    def check(self) -> None:
        for variable, url in (
            (ENV_RUNPOD_API, self.runpod_api),
            (ENV_RUNPOD_PROXY, self.runpod_proxy),
            (ENV_VAST_API, self.vast_api),
        ):
            if not url.startswith(("http://", "https://")):
                raise UserError(
                    f"{variable} is set to '{url}', which is not a web address. Set it to an "
                    "address starting with https:// (or http://), or unset it."
                )
        if "{pod_id}" not in self.runpod_proxy or "{port}" not in self.runpod_proxy:
            raise UserError(
                f"{ENV_RUNPOD_PROXY} must contain {{pod_id}} and {{port}}, as in "
                f"{runpod.DEFAULT_PROXY}. Fix it, or unset it."
            )

    def provider(self, name: str, key: str) -> Provider:
        """The provider ``name`` ("runpod" or "vast") with the API key ``key``."""
        if name == "runpod":
            return runpod.RunPodProvider(
                key, base_url=self.runpod_api, proxy_template=self.runpod_proxy
            )
        if name == "vast":
            return vast.VastProvider(key, base_url=self.vast_api)
        raise UserError(f"Unknown cloud provider '{name}'. Choose runpod or vast.")
