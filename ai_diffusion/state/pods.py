"""The docker's cloud GPU: choose, create, watch the cost of, and stop a pod.

A Qt object with signals over ``ai_diffusion.cloud``; no widgets, no Krita. A provider's API key
typed in the panel is used at once and kept for the session (in memory); saving it also puts it
in the password store (``SecretStore``). Never in settings.

Models that stay: with ``use_volume`` a new pod mounts a volume at /workspace (the image's
models folder is there), an existing one (``volume_id``) or one made at Create (``volume_gb``),
so models outlive the pod. RunPod: a network volume in one data center (``data_center``; the pod
is rented there). vast.ai: a volume on one machine; Find GPUs then lists only the GPUs that can
use it (on its machine, or on machines that offer a volume, with that machine's price), and the
cost of a new one is the chosen GPU's machine's. Starter sets (``cloud/starter_sets.py``) ticked in
``starter_sets`` are downloaded by the pod's gateway once the pod is ready; each file that lands
emits ``models_landed`` (the session refreshes the model lists on it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .. import eventloop
from ..cloud import (
    GpuOption,
    IdleAction,
    IdleWatch,
    Pod,
    PodState,
    Provider,
    ProviderEndpoints,
    create_pod_with_fallback,
    find_orphans,
    wait_until_ready,
)
from ..cloud.errors import Conflict, ProviderError
from ..cloud.gateway import GatewayClient
from ..cloud.images import DEFAULT_IMAGE
from ..cloud.models import NetworkVolume, new_pod_name
from ..cloud.pod_start import pod_spec, service_port
from ..cloud.provider import VolumeProvider, volume_cost, volumes_of
from ..cloud.runpod import DATA_CENTERS, DEFAULT_DATA_CENTER, VOLUME_PRICE_PER_GB_MONTH
from ..cloud.starter_sets import STARTER_SETS as STARTER_SETS  # for the panel
from ..cloud.starter_sets import StarterModel, starter_models
from ..cloud.vast import offer_volume_price as offer_volume_price  # for the panel
from ..errors import UserError
from ..pod_gateway import gateway_source
from ..qt import QObject, QTimer, Signal
from ..secrets import SecretStore

log = logging.getLogger(__name__)
ProviderFactory = Callable[[str, str], Provider]
PROVIDERS = {"runpod": "RunPod", "vast": "vast.ai"}
# Dollars per GB and month of a volume (cloud/runpod.py says where it comes from); None: each
# machine has its own, known once Find GPUs has found one (vast.ai). A provider not named here
# has no volumes in the plugin.
VOLUME_PRICES: dict[str, float | None] = {"runpod": VOLUME_PRICE_PER_GB_MONTH, "vast": None}


def default_factory(name: str, key: str) -> Provider:
    """The providers at their public addresses (the plugin passes ``ProviderEndpoints``)."""
    return ProviderEndpoints().provider(name, key)


def key_name(provider: str) -> str:
    return f"{provider}_api_key"


class PodController(QObject):
    message = Signal(str)  # one line for the painter
    state_changed = Signal(str)  # provisioning, starting, loading models, ready, stopped …
    gpus_changed = Signal()
    pod_changed = Signal()  # price, time, money spent
    ready = Signal(str, str)  # ComfyUI url, token ("" when none)
    orphans_found = Signal(list)  # pods named krita-* still running
    released = Signal()  # the pod no longer serves ComfyUI (stopped, terminated, gone)
    volumes_changed = Signal()  # the account's network volumes were listed (``volumes``)
    models_landed = Signal()  # a starter model arrived on the pod: refresh the model lists

    def __init__(
        self,
        secrets: SecretStore,
        factory: ProviderFactory = default_factory,
        clock: Callable[[], float] = time.monotonic,
        idle_minutes: float = 30,
    ) -> None:
        super().__init__()
        self.secrets = secrets
        self.factory = factory
        self.clock = clock
        self.provider_name = "runpod"
        self._typed_keys: dict[str, str] = {}  # provider → key typed this session
        self._own_names: set[str] = set()  # pods created or adopted in this session
        self.gpus: list[GpuOption] = []
        self.pod: Pod | None = None
        self.token: str | None = None
        self.started_at: float | None = None
        self.idle = IdleWatch(idle_minutes, clock())
        self.timer = QTimer(self)
        self.timer.setInterval(15_000)
        self.timer.timeout.connect(self.tick)
        # Models that stay, and starter sets (see the module's text).
        self.use_volume = False
        self.volume_gb = 50
        self.volume_id = ""  # an existing volume chosen; "" = make one at Create
        self.volumes: list[NetworkVolume] = []
        self.data_center = DEFAULT_DATA_CENTER  # RunPod: where a new volume (and its pod) goes
        self.data_centers: list[tuple[str, str]] = list(DATA_CENTERS)  # the catalog's, once read
        self.chosen_gpu: GpuOption | None = None  # the GPU chosen in the panel
        self.starter_sets: set[str] = set()
        self.starter_url: Callable[[StarterModel], str] = lambda m: m.url  # tests: a local host
        self.starter_poll = 2.0  # seconds between looks at a starter download

    # Provider and key ----------------------------------------------------------------------

    def use_provider(self, name: str) -> None:
        """Another provider chosen: the volumes and GPUs found were the other one's."""
        if name == self.provider_name:
            return
        self.provider_name = name
        self.volumes, self.volume_id = [], ""
        self.gpus, self.chosen_gpu = [], None
        self.gpus_changed.emit()
        self.volumes_changed.emit()

    def api_key(self) -> str | None:
        """The key for the chosen provider: the one typed this session, else the saved one."""
        typed = self._typed_keys.get(self.provider_name)
        return typed or self.secrets.get(key_name(self.provider_name))

    def has_key(self) -> bool:
        return bool(self.api_key())

    def typed_key(self) -> str:
        return self._typed_keys.get(self.provider_name, "")

    def use_key(self, key: str) -> None:
        """A key typed in the panel: used from now on, for this session only ("" forgets it,
        and the saved key, if any, is used again)."""
        key = key.strip()  # registered for redaction when used (ProviderHttp), not per keystroke
        if key:
            self._typed_keys[self.provider_name] = key
        else:
            self._typed_keys.pop(self.provider_name, None)

    def save_key(self, key: str) -> None:
        """Use ``key`` and also keep it in the password store; "" removes the saved key."""
        name = PROVIDERS[self.provider_name]
        key = key.strip()
        if not key:
            self._typed_keys.pop(self.provider_name, None)
            self.secrets.delete(key_name(self.provider_name))
            self.message.emit(f"{name} API key removed from the password store.")
            return
        self.use_key(key)
        self.secrets.set(key_name(self.provider_name), key)
        self.message.emit(f"{name} API key: {self.secrets.status}")

    def provider(self) -> Provider:
        key = self.api_key()
        if not key:
            raise UserError(
                f"Enter your {PROVIDERS[self.provider_name]} API key first (from your account "
                "settings on the provider's website)."
            )
        return self.factory(self.provider_name, key)

    def _run(self, coro: Any) -> Any:
        return eventloop.run(coro, on_error=self._report)

    def _report(self, error: BaseException) -> None:
        text = error.message if isinstance(error, UserError) else f"Unexpected error: {error}"
        if not isinstance(error, UserError):
            log.error("pod action failed", exc_info=error)
        self.message.emit(text)

    # GPUs and creating ---------------------------------------------------------------------

    def find_gpus(self, min_vram: float = 12, max_price: float | None = None) -> Any:
        async def find() -> None:
            self.message.emit("Looking for GPUs…")
            provider = self.provider()
            listing = volumes_of(provider) if self.use_volume else None
            if listing is None:
                self.gpus = await provider.list_gpus(min_vram=min_vram, max_price=max_price)
            else:
                self.gpus = await listing.gpus_for_volume(
                    self.chosen_volume(), self.volume_gb, self.data_center,
                    min_vram=min_vram, max_price=max_price,
                )  # fmt: skip
            self.chosen_gpu = self.gpus[0] if self.gpus else None
            self.gpus_changed.emit()
            self.message.emit(self._found_line(listing is not None))

        return self._run(find())

    def _found_line(self, for_volume: bool) -> str:
        count = len(self.gpus)
        if not for_volume:
            return f"{count} GPU choices, cheapest first."
        chosen = self.chosen_volume()
        if self.provider_name == "vast":
            if chosen is not None:
                if not count:
                    return (
                        f"The machine {chosen.name} is on has no free GPU right now. Try again "
                        "later, or choose 'New volume'."
                    )
                return f"{count} GPU choices on the machine {chosen.name} is on, cheapest first."
            if not count:
                return (
                    f"No machine with a free GPU keeps a {self.volume_gb} GB volume right now. "
                    "Try a smaller size, or untick 'Keep models on volume'."
                )
            return (
                f"{count} GPU choices on machines that keep volumes, cheapest first; the "
                "volume stays on the machine you choose."
            )
        where = chosen.data_center if chosen else self.data_center
        if not count:
            return f"No GPU is free in {where} right now. Try again later or another data center."
        return f"{count} GPU choices in {where}, cheapest first."

    def choose_gpu(self, gpu: GpuOption | None) -> None:
        """The GPU chosen in the panel (its machine's volume price, on vast.ai)."""
        self.chosen_gpu = gpu

    def create(self, candidates: list[GpuOption]) -> Any:
        return self._run(self._create(candidates))

    async def _create(self, candidates: list[GpuOption]) -> None:
        if not candidates:
            raise UserError("Choose a GPU first (Find GPUs).")
        provider = self.provider()
        volume = await self._volume(provider, candidates[0]) if self.use_volume else None
        if volume is not None:
            candidates = self._fitting(provider, volume, candidates)
        where = (
            {"network_volume_id": volume.id, "data_center": volume.data_center} if volume else {}
        )
        spec = pod_spec(DEFAULT_IMAGE, gateway_source(), **where)  # own token, behind the gateway
        self.token = spec.token
        self._own_names.add(spec.name)  # before it exists: never offered as left over
        self.state_changed.emit("provisioning")
        pod, gpu = await create_pod_with_fallback(
            provider, spec, candidates,
            on_skip=lambda g, _: self.message.emit(f"{g.gpu_name} is taken, trying the next GPU…"),
        )  # fmt: skip
        self.pod = pod
        self.started_at = self.clock()
        if self.token:
            self.secrets.set(f"pod_token:{provider.name}:{pod.id}", self.token)
        self.message.emit(f"Created {pod.name} on {gpu.gpu_name} at ${gpu.price_per_hour:.2f}/h.")
        self.pod_changed.emit()
        self.timer.start()
        url = await wait_until_ready(
            provider, pod.id, spec.exposed_port, token=self.token, on_state=self.state_changed.emit
        )
        self.idle = IdleWatch(self.idle.limit / 60, self.clock())
        self.pod = await provider.get_pod(pod.id) or pod
        self.pod_changed.emit()
        self.ready.emit(url, self.token or "")
        if self.starter_sets:
            await self._download_starters(url, self.token or "")

    # Network volumes ---------------------------------------------------------------------------

    def volumes_supported(self) -> bool:
        return self.provider_name in VOLUME_PRICES

    def volume_price(self) -> float | None:
        """Dollars per GB and month of a new volume: the provider's price, or on vast.ai the
        chosen GPU's machine's (None until Find GPUs found one, or when vast.ai gives none)."""
        flat = VOLUME_PRICES.get(self.provider_name)
        return flat if flat is not None else offer_volume_price(self.chosen_gpu)

    def chosen_volume(self) -> NetworkVolume | None:
        return next((v for v in self.volumes if v.id == self.volume_id), None)

    def choose_data_center(self, data_center: str) -> None:
        if data_center:
            self.data_center = data_center

    def volume_cost_line(self) -> str:
        """What the volume will cost, shown before it is made, and where it keeps pods."""
        if not self.volumes_supported():
            return f"{PROVIDERS[self.provider_name]}: no volumes."
        chosen = self.chosen_volume()
        if self.provider_name == "vast":
            return self._vast_cost_line(chosen)
        price = self.volume_price() or 0.0
        size = chosen.size_gb if chosen else self.volume_gb
        where = chosen.data_center if chosen else self.data_center
        name = f"{chosen.name}, {size} GB" if chosen else f"{size} GB"
        return (
            f"{name} in {where}: about ${volume_cost(size, price):.2f} a month, billed while the "
            "volume exists, also when no pod runs. Pods with it are rented in that data center."
        )

    def _vast_cost_line(self, chosen: NetworkVolume | None) -> str:
        stays = "A vast.ai volume stays on one machine: pods with it can only be rented there."
        if chosen is not None:
            return (
                f"{chosen.name}, {chosen.size_gb} GB ({chosen.data_center}): billed while it "
                "exists; vast.ai does not tell its price here (see vast.ai › Storage). Find "
                f"GPUs shows only that machine's GPUs. {stays}"
            )
        price = self.volume_price()
        if self.chosen_gpu is None:
            return (
                f"{self.volume_gb} GB: each machine has its own price; Find GPUs shows the "
                f"GPUs whose machine keeps volumes, and the price of the one you choose. {stays}"
            )
        if price is None:
            return (
                f"{self.volume_gb} GB on this GPU's machine: vast.ai gave no price for it; see "
                f"vast.ai › Storage before you create. {stays}"
            )
        return (
            f"{self.volume_gb} GB on this GPU's machine: about "
            f"${volume_cost(self.volume_gb, price):.2f} a month (${price:.2f} per GB), billed "
            f"while the volume exists, also when no pod runs. {stays}"
        )

    def find_volumes(self) -> Any:
        async def find() -> None:
            listing = volumes_of(self.provider())
            if listing is None:
                self.volumes = []
            else:
                self.volumes = await listing.list_volumes()
                regions = await listing.volume_regions()
                if regions:
                    self.data_centers = regions
                    if self.data_center not in {r for r, _ in regions}:
                        self.data_center = regions[0][0]
            self.volumes_changed.emit()
            if self.volumes:
                self.message.emit(f"{len(self.volumes)} volume(s) on your account.")

        return self._run(find())

    def _fitting(
        self, provider: Provider, volume: NetworkVolume, candidates: list[GpuOption]
    ) -> list[GpuOption]:
        """The candidates a pod with ``volume`` can be rented on (vast.ai: its machine)."""
        listing = volumes_of(provider)
        fitting = [g for g in candidates if listing is None or listing.fits(volume, g)]
        if not fitting:
            raise UserError(
                f"None of the GPUs found is on the machine {volume.name} is on: press Find "
                "GPUs again with the volume chosen, and choose one of those."
            )
        return fitting

    async def _volume(self, provider: Provider, gpu: GpuOption) -> NetworkVolume:
        """The volume the new pod mounts: the chosen one, or one made now (RunPod: in the
        chosen data center; vast.ai: on ``gpu``'s machine)."""
        listing: VolumeProvider | None = volumes_of(provider)
        if listing is None or not self.volumes_supported():
            raise UserError(
                f"{PROVIDERS[self.provider_name]}: volumes are not supported. Untick 'Keep "
                "models on volume' to create the pod without one."
            )
        if self.volume_id:
            chosen = self.chosen_volume()
            if chosen is None:
                self.volumes = await listing.list_volumes()
                self.volumes_changed.emit()
                chosen = self.chosen_volume()
            if chosen is None:
                raise UserError(
                    "The chosen volume is no longer on your account. Choose another one, or "
                    "'New volume'."
                )
            return chosen
        self.chosen_gpu = gpu
        price = self.volume_price()
        volume = await listing.create_volume(
            f"krita-models-{new_pod_name()[-8:]}", self.volume_gb,
            data_center=self.data_center, gpu=gpu,
        )  # fmt: skip
        self.volumes.append(volume)
        self.volume_id = volume.id  # the next pod uses it too, rather than another one
        self.volumes_changed.emit()
        cost = (
            f"about ${volume_cost(volume.size_gb, price):.2f} a month while it exists"
            if price is not None
            else "billed while it exists"
        )
        where = f", {volume.data_center}" if volume.data_center else ""
        self.message.emit(f"Created volume {volume.name} ({volume.size_gb} GB{where}, {cost}).")
        return volume

    # Starter sets ----------------------------------------------------------------------------

    async def _download_starters(self, url: str, token: str) -> None:
        """Ask the pod's gateway for each ticked starter file; follow them until they land."""
        models = starter_models(self.starter_sets)
        if not models:
            return
        if not token:
            self.message.emit(
                "Starter models need the plugin's gateway on the pod; not downloaded."
            )
            return
        landed, present, failed = 0, 0, []
        async with GatewayClient.opened(url, token) as gateway:
            started: list[tuple[StarterModel, str]] = []
            for model in models:
                try:
                    started.append((model, await gateway.download(
                        self.starter_url(model), model.folder, filename=model.filename,
                        sha256=model.sha256, size=model.size,
                    )))  # fmt: skip
                except Conflict:  # already there (kept on the network volume)
                    present += 1
                except ProviderError as e:
                    failed.append(f"{model.label}: {e.message}")
            for i, (model, transfer_id) in enumerate(started, 1):

                def progress(
                    done: int, total: int, model: StarterModel = model, i: int = i
                ) -> None:
                    size = (
                        f"{done / 1e6:.0f} of {total / 1e6:.0f} MB"
                        if total
                        else f"{done / 1e6:.0f} MB"
                    )
                    self.message.emit(
                        f"Starter models ({i} of {len(started)}): {model.label}, {size}"
                    )

                try:
                    ended = await gateway.wait(transfer_id, progress, poll=self.starter_poll)
                except ProviderError as e:
                    failed.append(f"{model.label}: {e.message}")
                    continue
                if ended.state != "done":  # cancelled on the pod
                    failed.append(f"{model.label}: {ended.state}")
                    continue
                landed += 1
                self.models_landed.emit()
        line = f"Starter models: {landed} downloaded"
        if present:
            line += f", {present} already on the pod"
        if failed:
            line += f"; {len(failed)} failed ({'; '.join(failed)})"
        self.message.emit(line + ".")

    # Watching and stopping -------------------------------------------------------------------

    def refresh(self) -> Any:
        async def refresh() -> None:
            if self.pod is None:
                return
            was_running = self.pod.state is PodState.running
            pod = await self.provider().get_pod(self.pod.id)
            self.pod = pod
            if pod is None or pod.state is PodState.terminated:
                self.timer.stop()
            self.pod_changed.emit()
            if was_running and (pod is None or pod.state is not PodState.running):
                self.released.emit()  # e.g. stopped on the provider's website

        return self._run(refresh())

    def cost_line(self) -> str:
        pod = self.pod
        if pod is None:
            return "No pod."
        minutes = int(pod.uptime_seconds // 60)
        return (
            f"{pod.name}: {pod.state.value}, ${pod.price_per_hour:.2f}/h, "
            f"{minutes // 60} h {minutes % 60:02d} min, ${pod.cost_so_far:.2f} spent"
        )

    def _act(self, action: str, done: str) -> Any:
        async def act() -> None:
            if self.pod is None:
                raise UserError("There is no pod to control.")
            provider = self.provider()
            await getattr(provider, action)(self.pod.id)
            self.message.emit(done)
            self.pod = await provider.get_pod(self.pod.id)
            self.pod_changed.emit()
            if action in ("stop", "terminate"):
                self.released.emit()

        return self._run(act())

    def stop(self) -> Any:
        return self._act(
            "stop", "Pod stopped: the GPU is released (its disk may still cost a little)."
        )

    def resume(self) -> Any:
        return self._act("resume", "Pod resuming…")

    def terminate(self) -> Any:
        self.timer.stop()
        return self._act("terminate", "Pod terminated: nothing runs and nothing more is billed.")

    # Cost safety -----------------------------------------------------------------------------

    def set_idle_minutes(self, minutes: float) -> None:
        self.idle = IdleWatch(minutes, self.clock())

    def job_busy(self, busy: bool) -> None:
        """Connected to the generation controller's busy signal."""
        now = self.clock()
        if busy:
            self.idle.job_started(now)
        else:
            self.idle.job_finished(now)

    def tick(self) -> IdleAction:
        action = self.idle.tick(self.clock())
        running = self.pod is not None and self.pod.state is PodState.running
        if running and action is IdleAction.warn:
            self.message.emit("No job for a while: the pod stops in one minute to save money.")
        elif running and action is IdleAction.stop:
            self.message.emit("The pod was idle: stopping it to save money.")
            self.stop()
        if self.pod is not None:
            self.refresh()
        return action

    def check_orphans(self) -> Any:
        """At start: pods named krita-* that still run (and cost money)."""

        async def check() -> None:
            if not self.has_key():
                return
            found = await find_orphans(self.provider())
            orphans = [p for p in found if p.name not in self._own_names]  # not this session's
            log.info("%d krita-* pod(s) left running", len(orphans))
            if orphans:
                self.orphans_found.emit(orphans)

        return self._run(check())

    def adopt(self, pod: Pod) -> Any:
        """Watch an existing pod and connect to it once it serves ComfyUI."""
        self._own_names.add(pod.name)
        self.pod = pod
        self.pod_changed.emit()
        self.timer.start()

        async def use() -> None:
            provider = self.provider()
            self.token = self.secrets.get(f"pod_token:{provider.name}:{pod.id}")
            url = await wait_until_ready(
                provider,
                pod.id,
                # Pods made before the gateway have no token of theirs in the store and expose
                # ComfyUI's own port.
                service_port(DEFAULT_IMAGE) if self.token else DEFAULT_IMAGE.port,
                token=self.token,
                on_state=self.state_changed.emit,
            )
            self.ready.emit(url, self.token or "")

        return self._run(use())

    def stop_pods(self, pods: list[Pod]) -> Any:
        async def stop_all() -> None:
            provider = self.provider()
            for pod in pods:
                await provider.stop(pod.id)
            self.message.emit(f"Stopped {len(pods)} pod(s).")

        return self._run(stop_all())

    def run_blocking(self, action: str, timeout: float = 30) -> None:
        """stop/terminate the pod while Krita quits, when the Qt-driven loop no longer runs:
        in a thread with its own asyncio loop, waiting at most ``timeout`` seconds."""
        if self.pod is None:
            return
        provider, pod_id = self.provider(), self.pod.id
        errors: list[BaseException] = []

        def work() -> None:
            try:
                asyncio.run(getattr(provider, action)(pod_id))
            except BaseException as e:  # reported below
                errors.append(e)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        thread.join(timeout)
        if errors:
            raise errors[0]
