"""A fake vast.ai API (https://docs.vast.ai/api-reference), on aiohttp.

A running instance maps each port it asked for ("-p N:N") to a public port of its own on
127.0.0.1, which relays TCP (HTTP and websockets) to the fake ComfyUI on ``comfy_port``; the
mapping closes when the instance stops or is destroyed. ``start_date`` comes from ``clock``
(seconds, wall time), so tests can let hours pass.

Volumes as vast.ai has them (local volumes): offers on machines (``POST /api/v0/volumes/search/``,
``storage_cost`` in dollars per GB and month), rented with ``PUT /api/v0/volumes/`` (answer
``volume_name`` "V.<id>"), listed with ``GET /api/v0/volumes/``; an instance links one with
``volume_info`` only when it is rented on the volume's machine."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.passthrough import PortMapping

STEPS = [None, "loading", "running"]


@dataclass
class FakeVast:
    api_key: str = "vast-test-key-0123456789"
    comfy_port: int = 8188  # where "running" instances point (a fake ComfyUI on 127.0.0.1)
    offers: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[int, dict[str, Any]] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)  # offers answered with 410 no_such_ask
    status_once: list[int] = field(default_factory=list)
    next_id: int = 1000
    clock: Callable[[], float] = time.time
    mappings: dict[int, dict[str, PortMapping]] = field(default_factory=dict)  # instance → port
    # Volume offers (one per machine here) and the account's volumes: id → its view.
    volume_offers: list[dict[str, Any]] = field(default_factory=list)
    volumes: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.offers:
            self.offers = [
                {
                    "id": 503,
                    "gpu_name": "RTX 3080",
                    "num_gpus": 1,
                    "gpu_ram": 10240,
                    "dph_total": 0.12,
                    "reliability2": 0.990,
                    "cuda_max_good": 12.8,
                    "geolocation": "Quebec, CA",
                    "machine_id": 7003,
                },
                {
                    "id": 501,
                    "gpu_name": "RTX 3090",
                    "num_gpus": 1,
                    "gpu_ram": 24576,
                    "dph_total": 0.21,
                    "reliability2": 0.995,
                    "cuda_max_good": 13.0,
                    "geolocation": "Oslo, NO",
                    "machine_id": 7001,
                },
                {
                    "id": 502,
                    "gpu_name": "RTX 4090",
                    "num_gpus": 1,
                    "gpu_ram": 24564,
                    "dph_total": 0.35,
                    "reliability2": 0.999,
                    "cuda_max_good": 13.0,
                    "geolocation": "Ohio, US",
                    "machine_id": 7002,
                },
            ]
        if not self.volume_offers:  # no volume offer on machine 7003
            self.volume_offers = [
                {"id": 9001, "machine_id": 7001, "disk_space": 400.0, "storage_cost": 0.15,
                 "verified": True, "external": False, "geolocation": "Oslo, NO"},
                {"id": 9002, "machine_id": 7002, "disk_space": 120.0, "storage_cost": 0.2,
                 "verified": True, "external": False, "geolocation": "Ohio, US"},
            ]  # fmt: skip

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        r = app.router
        r.add_post("/api/v0/bundles/", self.bundles)
        r.add_put("/api/v0/asks/{id}/", self.create)
        r.add_get("/api/v0/instances/{id}/", self.show)
        r.add_get("/api/v1/instances/", self.list)
        r.add_put("/api/v0/instances/{id}/", self.manage)
        r.add_delete("/api/v0/instances/{id}/", self.destroy)
        r.add_post("/api/v0/volumes/search/", self.search_volumes)
        r.add_put("/api/v0/volumes/", self.rent_volume)
        r.add_get("/api/v0/volumes/", self.list_volumes)
        app.on_cleanup.append(self._close_all)
        return app

    async def _close_all(self, _: web.Application) -> None:
        for instance_id in list(self.mappings):
            await self._unmap(instance_id)

    async def _map(self, inst: dict[str, Any]) -> None:
        """The instance runs: open a public port for each port it asked for (not ssh)."""
        if inst["id"] in self.mappings:
            return
        asked = [k.split(":")[-1] for k in inst.get("env") or {} if k.startswith("-p ")]
        ports: dict[str, PortMapping] = {}
        for port in asked:
            if port != "22":
                ports[port] = PortMapping(self.comfy_port)
                await ports[port].open()
        self.mappings[inst["id"]] = ports

    async def _unmap(self, instance_id: int) -> None:
        for mapping in self.mappings.pop(instance_id, {}).values():
            await mapping.close()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(
                {"success": False, "error": "auth_error", "msg": "Invalid user key"}, status=401
            )
        if self.status_once:
            status = self.status_once.pop(0)
            if status == 429:
                return web.json_response(
                    {"detail": "API requests too frequent endpoint threshold=4.5"}, status=429
                )
            return web.json_response(
                {"success": False, "error": "server_error", "msg": "oops"}, status=status
            )
        return await handler(request)

    async def bundles(self, request: web.Request) -> web.Response:
        query = await request.json()
        offers = [o for o in self.offers if o["id"] not in self.taken]
        machines = query.get("machine_id", {}).get("in")
        if machines is not None:
            offers = [o for o in offers if o["machine_id"] in machines]
        names = query.get("gpu_name", {}).get("in")
        if names:
            offers = [o for o in offers if o["gpu_name"] in names]
        for key in ("cuda_max_good", "gpu_ram"):
            if key in query:
                offers = [o for o in offers if o[key] >= query[key]["gte"]]
        if "dph_total" in query:
            offers = [o for o in offers if o["dph_total"] <= query["dph_total"]["lte"]]
        offers.sort(key=lambda o: o["dph_total"])
        return web.json_response({"offers": offers[: query.get("limit", 20)]})

    async def create(self, request: web.Request) -> web.Response:
        offer_id = int(request.match_info["id"])
        offer = next((o for o in self.offers if o["id"] == offer_id), None)
        if offer is None or offer_id in self.taken:
            return web.json_response(
                {
                    "success": False,
                    "error": "no_such_ask",
                    "msg": f"error 410/3907: no_such_ask Instance type {offer_id} is no longer available.",
                },
                status=410,
            )
        body = await request.json()
        refused = self._volume_refused(body.get("volume_info"), offer)
        if refused:
            return refused
        self.next_id += 1
        if body.get("volume_info"):
            self.volumes[body["volume_info"]["volume_id"]]["instances"].append(self.next_id)
        self.instances[self.next_id] = {
            "id": self.next_id, "label": body.get("label"), "actual_status": None, "intended_status": "running",
            "cur_state": "running", "image_uuid": body["image"], "env": body.get("env"), "args": body.get("args"),
            "gpu_name": offer["gpu_name"],
            "num_gpus": 1, "dph_total": offer["dph_total"], "step": 0, "start_date": None,
            "machine_id": offer["machine_id"], "volume_info": body.get("volume_info"),
        }  # fmt: skip
        self.taken.add(offer_id)
        return web.json_response(
            {"success": True, "new_contract": self.next_id, "instance_api_key": "restricted"}
        )

    def _view(self, inst: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in inst.items() if k not in ("step", "env")}
        if inst["actual_status"] == "running":
            view["public_ipaddr"] = "127.0.0.1"
            view["ports"] = {
                f"{port}/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(mapping.port)}]
                for port, mapping in self.mappings.get(inst["id"], {}).items()
            }
        return view

    async def _became(self, inst: dict[str, Any], status: str | None) -> None:
        inst["actual_status"] = status
        if status == "running":
            inst["start_date"] = self.clock()
            await self._map(inst)
        else:
            await self._unmap(inst["id"])

    async def show(self, request: web.Request) -> web.Response:
        inst = self.instances.get(int(request.match_info["id"]))
        if inst is None:
            return web.json_response({"instances": None})
        if inst["intended_status"] == "running" and inst["step"] < len(STEPS) - 1:
            inst["step"] += 1
            await self._became(inst, STEPS[inst["step"]])
        return web.json_response({"instances": self._view(inst)})

    async def list(self, request: web.Request) -> web.Response:
        items = sorted(self.instances.values(), key=lambda i: i["id"])
        after = int(request.query.get("after_token") or 0)
        page = [i for i in items if i["id"] > after][:2]  # small pages to exercise paging
        more = len([i for i in items if i["id"] > after]) > 2
        return web.json_response(
            {
                "success": True,
                "instances": [self._view(i) for i in page],
                "next_token": str(page[-1]["id"]) if more and page else None,
            }
        )

    async def manage(self, request: web.Request) -> web.Response:
        inst = self.instances.get(int(request.match_info["id"]))
        if inst is None:
            return web.json_response(
                {"success": False, "error": "no_such_instance", "msg": "Instance not found"},
                status=404,
            )
        state = (await request.json()).get("state")
        inst["intended_status"] = state
        await self._became(inst, "stopped" if state == "stopped" else "running")
        return web.json_response({"success": True})

    async def destroy(self, request: web.Request) -> web.Response:
        instance_id = int(request.match_info["id"])
        await self._unmap(instance_id)
        if self.instances.pop(instance_id, None) is None:
            return web.json_response(
                {"success": False, "error": "not_found", "msg": "Instance not found"}, status=404
            )
        return web.json_response({"success": True, "msg": "destroyed"})

    # Volumes -----------------------------------------------------------------------------------

    def _volume_refused(self, info: Any, offer: dict[str, Any]) -> web.Response | None:
        """``volume_info`` when renting: link an existing volume (create_new false) on the
        offer's own machine; anything else is refused as the real API does (400 invalid_args)."""
        if info is None:
            return None

        def bad(msg: str) -> web.Response:
            return web.json_response(
                {"success": False, "error": "invalid_args", "msg": f"error 400: {msg}"}, status=400
            )

        if not isinstance(info, dict) or set(info) - {
            "create_new",
            "volume_id",
            "mount_path",
            "size",
            "name",
        }:
            return bad("volume_info must be an object with create_new, volume_id, mount_path")
        path, volume_id = info.get("mount_path"), info.get("volume_id")
        if not isinstance(path, str) or not re.fullmatch(r"(/)?([^/\0]+(/)?)+", path):
            return bad("volume_info.mount_path is required, a Linux path")
        if not isinstance(volume_id, int) or isinstance(volume_id, bool):
            return bad("volume_info.volume_id is required, an integer")
        if info.get("create_new") is not False:
            return bad("this fake links existing volumes only (create_new false)")
        volume = self.volumes.get(volume_id)
        if volume is None:
            return bad(f"no such volume {volume_id}")
        if volume["machine_id"] != offer["machine_id"]:
            return bad(f"volume {volume_id} is on another machine than offer {offer['id']}")
        return None

    async def search_volumes(self, request: web.Request) -> web.Response:
        try:
            query = await request.json()
        except ValueError:
            query = None
        if not isinstance(query, dict):
            return web.json_response(
                {"success": False, "error": "invalid_request", "msg": "Invalid query, must be dict of conditions"},
                status=400,
            )  # fmt: skip
        offers = list(self.volume_offers)
        machines = query.get("machine_id", {}).get("in")
        if machines is not None:
            offers = [o for o in offers if o["machine_id"] in machines]
        room = query.get("disk_space", {}).get("gte")
        if room is not None:
            offers = [o for o in offers if o["disk_space"] >= room]
        offers.sort(key=lambda o: o["storage_cost"])
        return web.json_response({"offers": offers[: query.get("limit", 64)]})

    async def rent_volume(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None

        def bad(msg: str, status: int = 400, error: str = "invalid_args") -> web.Response:
            return web.json_response({"success": False, "error": error, "msg": msg}, status=status)

        if not isinstance(body, dict) or set(body) - {"id", "size", "name"}:
            return bad("Invalid args: the body takes id, size and name")
        offer_id, size, name = body.get("id"), body.get("size", 15), body.get("name")
        if not isinstance(offer_id, int) or isinstance(offer_id, bool):
            return bad("Invalid args: id is required, an integer")
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            return bad("Invalid args: size must be a whole number of GB")
        if name is not None and (
            not isinstance(name, str) or not re.fullmatch(r"\w{1,64}", name, re.ASCII)
        ):
            return bad("Invalid args: name may hold letters, digits and underscores, at most 64")
        offer = next((o for o in self.volume_offers if o["id"] == offer_id), None)
        if offer is None:
            return bad(f"no_such_ask volume offer {offer_id} is not available", 404, "no_such_ask")
        if size > offer["disk_space"]:
            return bad(
                f"Invalid args: {size} GB is more than the offer's {offer['disk_space']:.0f} GB"
            )
        offer["disk_space"] -= size
        self.next_id += 1
        self.volumes[self.next_id] = {
            "id": self.next_id, "label": name, "disk_space": float(size), "machine_id": offer["machine_id"],
            "status": "created", "start_date": self.clock(), "instances": [],
            "geolocation": offer.get("geolocation", ""),
        }  # fmt: skip
        return web.json_response({"success": True, "volume_name": f"V.{self.next_id}"})

    async def list_volumes(self, request: web.Request) -> web.Response:
        if request.query.get("owner") != "me":
            return web.json_response(
                {"success": False, "error": "invalid_args", "msg": "owner=me is required"},
                status=400,
            )
        kind = request.query.get("type", "all_volume")
        if kind not in ("local_volume", "network_volume", "all_volume"):
            return web.json_response(
                {"success": False, "error": "invalid_args", "msg": f"unknown type {kind}"},
                status=400,
            )
        local = kind in ("local_volume", "all_volume")
        return web.json_response({"volumes": list(self.volumes.values()) if local else []})
