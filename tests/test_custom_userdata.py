"""The server's saved workflows (``ai_diffusion.comfy.userdata``), against a stand-in that
answers as ComfyUI 0.33's app/user_manager.py does."""

from __future__ import annotations

import json
from urllib.parse import unquote

import aiohttp
import pytest
from aiohttp import web

from ai_diffusion.comfy import ConnectionFailure, ServerConfig
from ai_diffusion.comfy.userdata import saved_workflow, saved_workflows
from ai_diffusion.workflow.custom import read_workflow
from tests.fake_serving import serve

FILES = {
    "workflows/portrait.json": json.dumps({"nodes": [], "links": [], "version": 0.4}),
    "workflows/inpaint/soft.json": json.dumps({"nodes": [], "links": [], "version": 0.4}),
    "workflows/.index.txt": "not a workflow",
}


def _app(files: dict[str, str]) -> web.Application:
    async def listing(request: web.Request) -> web.Response:
        folder = request.rel_url.query.get("dir", "")
        if not folder:
            return web.Response(status=400, text="Directory not provided")
        recurse = request.rel_url.query.get("recurse", "").lower() == "true"
        names = [
            path[len(folder) + 1 :]
            for path in files
            if path.startswith(folder + "/") and (recurse or "/" not in path[len(folder) + 1 :])
        ]
        if not names:
            return web.Response(status=404, text="Directory not found")
        return web.json_response(names)

    async def one(request: web.Request) -> web.Response:
        name = request.match_info["file"]
        name = unquote(name) if "%" in name else name
        if name not in files:
            return web.Response(status=404)
        return web.Response(body=files[name].encode(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/userdata", listing)
    app.router.add_get("/api/userdata/{file}", one)
    return app


@pytest.fixture
async def server():
    runner, url = await serve(_app(FILES))
    async with aiohttp.ClientSession() as session:
        yield session, ServerConfig(url)
    await runner.cleanup()


async def test_lists_saved_workflows_with_subfolders(server) -> None:
    session, config = server
    assert await saved_workflows(session, config) == ["inpaint/soft.json", "portrait.json"]


async def test_reads_one_by_its_listed_name(server) -> None:
    session, config = server
    data = await saved_workflow(session, config, "inpaint/soft.json")
    assert read_workflow(data, "inpaint/soft.json").page is not None


async def test_no_folder_yet_is_an_empty_list() -> None:
    runner, url = await serve(_app({}))
    try:
        async with aiohttp.ClientSession() as session:
            assert await saved_workflows(session, ServerConfig(url)) == []
    finally:
        await runner.cleanup()


async def test_unknown_name_says_so(server) -> None:
    session, config = server
    with pytest.raises(ConnectionFailure, match="no saved workflow named nope.json"):
        await saved_workflow(session, config, "nope.json")
