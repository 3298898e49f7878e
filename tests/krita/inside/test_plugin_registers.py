"""Runs inside Krita's own Python (kritarunner): the plugin, loaded from the installed zip as
Krita loads it, registers its extension and its docker factory."""

import importlib
import os
import sys

import krita


def test_plugin_loads_from_the_installed_zip_and_registers(monkeypatch):
    registered = {"extensions": [], "dockers": []}
    app = krita.Krita.instance()
    add_extension = krita.Krita.addExtension
    add_docker = krita.Krita.addDockWidgetFactory

    def spy_extension(self, extension):
        registered["extensions"].append(extension)
        return add_extension(self, extension)

    def spy_docker(self, factory):
        registered["dockers"].append(factory)
        return add_docker(self, factory)

    monkeypatch.setattr(krita.Krita, "addExtension", spy_extension)
    monkeypatch.setattr(krita.Krita, "addDockWidgetFactory", spy_docker)
    sys.modules.pop("ai_diffusion", None)
    plugin = importlib.import_module("ai_diffusion")

    pykrita = os.path.join(os.environ["XDG_DATA_HOME"], "krita", "pykrita")
    assert plugin.__file__.startswith(pykrita), plugin.__file__
    # The vendored libraries come from the zip, first on sys.path.
    import aiohttp
    import websockets

    assert aiohttp.__file__.startswith(os.path.join(pykrita, "ai_diffusion", "vendor"))
    assert websockets.__file__.startswith(os.path.join(pykrita, "ai_diffusion", "vendor"))
    assert "numpy" not in sys.modules and "PIL" not in sys.modules

    assert len(registered["extensions"]) == 1
    assert any(type(e).__name__ == "AIDiffusionExtension" for e in app.extensions())
    assert len(registered["dockers"]) == 1
    assert registered["dockers"][0].id() == "ai_diffusion_docker"


def test_docker_builds_its_content_inside_krita():
    from ai_diffusion.krita_adapter.plugin import DOCKER_TITLE, AIDiffusionDocker

    docker = AIDiffusionDocker()
    assert docker.windowTitle() == DOCKER_TITLE == "AI Image Generation"
    assert docker.content.objectName() == "ai_diffusion_content"
    assert docker.widget().widget() is docker.content  # inside a scroll area
