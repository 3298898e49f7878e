"""The docker's cloud GPU: choose, create, watch the cost of, and stop a pod.

A Qt object with signals over ``ai_diffusion.cloud``; no widgets, no Krita. A provider's API key
typed in the panel is used at once and kept for the session (in memory); saving it also puts it
in the password store (``SecretStore``). Never in settings.
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
from ..cloud.images import DEFAULT_IMAGE
from ..cloud.pod_start import pod_spec, service_port
from ..errors import UserError
from ..pod_gateway import gateway_source
from ..qt import QObject, QTimer, Signal
from ..secrets import SecretStore

log = logging.getLogger(__name__)
ProviderFactory = Callable[[str, str], Provider]
PROVIDERS = {"runpod": "RunPod", "vast": "vast.ai"}


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

    # Provider and key ----------------------------------------------------------------------

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
            self.gpus = await self.provider().list_gpus(min_vram=min_vram, max_price=max_price)
            self.gpus_changed.emit()
            self.message.emit(f"{len(self.gpus)} GPU choices, cheapest first.")

        return self._run(find())

    def create(self, candidates: list[GpuOption]) -> Any:
        return self._run(self._create(candidates))

    async def _create(self, candidates: list[GpuOption]) -> None:
        if not candidates:
            raise UserError("Choose a GPU first (Find GPUs).")
        provider = self.provider()
        spec = pod_spec(DEFAULT_IMAGE, gateway_source())  # its own token, behind the gateway
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
                service_port(DEFAULT_IMAGE),
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
