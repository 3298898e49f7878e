"""The docker's "Add models" panel connected to a SaladCloud comfyui-api group (the fake group,
served in a thread): a pasted link is downloaded by the group itself (``SaladComfyApi.add_model``)
and the model lists are re-read; Upload says in words that a Salad group takes no file and what
to do instead; no Civitai key field (Salad's download takes a link only)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ai_diffusion import eventloop
from ai_diffusion.backends.salad import SaladComfyApi, SaladConfig
from ai_diffusion.qt import QObject, Qt, Signal
from ai_diffusion.secrets import SecretStore
from ai_diffusion.state.model_transfers import ModelTransfers
from ai_diffusion.ui.model_transfer_panel import ModelTransferPanel
from tests.backend_fixtures import served_in_thread
from tests.fakes.salad_server import FakeSaladGroup
from tests.test_secrets import MemoryKeyring

WAIT = 20000
LINK = "https://huggingface.co/someone/styles/resolve/main/ink-style.safetensors"


class Controller(QObject):
    """What the panel reads of the docker's controller: its state, client and model refresh."""

    changed = Signal(str, object)

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.state = "connected"
        self.client = client
        self.refreshed = 0

    def refresh_models(self) -> None:
        self.refreshed += 1


@pytest.fixture
def group() -> Iterator[tuple[FakeSaladGroup, str]]:
    fake = FakeSaladGroup()
    with served_in_thread(fake.app()) as url:
        yield fake, url


@pytest.fixture
def panel(qtbot, qt_loop, group: tuple[FakeSaladGroup, str]) -> Iterator[ModelTransferPanel]:
    fake, url = group
    config = SaladConfig(url, api_key=fake.api_key or "")
    connecting = eventloop.run(SaladComfyApi.connect(config))
    qtbot.waitUntil(connecting.done, timeout=WAIT)
    client = connecting.result()
    transfers = ModelTransfers(Controller(client), SecretStore(MemoryKeyring()), poll=0.05)
    widget = ModelTransferPanel(transfers)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    closing = eventloop.run(client.close())
    qtbot.waitUntil(closing.done, timeout=WAIT)


def test_a_pasted_link_is_downloaded_by_the_group(
    qtbot, panel: ModelTransferPanel, group: tuple[FakeSaladGroup, str]
) -> None:
    fake, _ = group
    transfers = panel.transfers
    assert transfers.gateway == "salad"
    assert panel.gateway_part.isVisible() and not panel.by_hand.isVisible()
    assert not panel.civitai_row.isVisible()
    assert "one replica of your Salad group downloads it" in panel.state.text()
    panel.url.setText(LINK)
    qtbot.mouseClick(panel.download, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: transfers.transfers and transfers.transfers[0].ended, timeout=WAIT)
    (row,) = transfers.transfers
    assert (row.state, row.name, row.folder) == ("done", "ink-style.safetensors", "loras")
    assert (
        transfers.message
        == "ink-style.safetensors is on the server: it is among the LoRA choices now."
    )
    assert transfers.controller.refreshed == 1
    ((_, sent, folder, name),) = fake.downloads
    assert (sent, folder, name) == (LINK, "loras", "ink-style.safetensors")


def test_upload_says_salad_takes_no_file(
    qtbot, panel: ModelTransferPanel, group: tuple[FakeSaladGroup, str]
) -> None:
    asked: list[bool] = []
    panel.ask_file = lambda: asked.append(True) or "/nowhere/my-lora.safetensors"
    qtbot.mouseClick(panel.upload, Qt.MouseButton.LeftButton)
    assert asked == []  # no file dialog for nothing
    assert panel.message.text().startswith(
        "A Salad group cannot take a model file from your computer"
    )
    assert "paste the link here" in panel.message.text()
    assert panel.transfers.transfers == ()


def test_a_refused_download_says_why(
    qtbot, panel: ModelTransferPanel, group: tuple[FakeSaladGroup, str]
) -> None:
    fake, _ = group
    fake.faults.append("cut")  # the group's gateway gave up after 100 s
    panel.url.setText(LINK)
    qtbot.mouseClick(panel.download, Qt.MouseButton.LeftButton)
    transfers = panel.transfers
    qtbot.waitUntil(lambda: transfers.transfers and transfers.transfers[0].ended, timeout=WAIT)
    assert transfers.transfers[0].state == "failed"
    assert "longer than Salad's gateway waits" in panel.message.text()
    assert transfers.controller.refreshed == 0
