"""The docker, assembled from its panels around the painting loop: model, prompt, Generate
(progress inside, queue count, Cancel), strength, results strip; then the modes with their
own controls (LoRAs, ControlNet layers, Advanced). The connection is one line on top once
connected; its panel (and the Cloud GPU panel inside it) opens from that line.

The widgets hold no state of their own: they bind to the state objects of a
:class:`~ai_diffusion.state.session.Session` (connection, controller, pods) and write into
them.

Object names are listed by each panel's module: ``connection_panel.py``, ``generate_bar.py``,
``results_strip.py``, ``modes.py``, ``model_lists.py``, ``advanced.py``, ``prompt.py``,
``live_panel.py`` (the Live mode's page, ai_live), ``workflow_page.py`` (the Workflow
mode's page, ai_workflow); and
here: ai_message; the model section's names are in ``model_picker.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..qt import QtWidgets
from ..state.controller import Connector
from ..state.document import DocumentSource
from ..state.observable import bind
from ..state.params import Params
from ..state.pods import PodController, ProviderFactory, default_factory
from ..state.regions import DocumentRegions
from ..state.session import Session, build_session
from ..state.style_choice import build_styles
from ..state.upscale_mode import UpscaleMode
from .connection_dialog import ConnectionDialog
from .connection_panel import ConnectionSection
from .generate_bar import ElapsedLabel, GenerateBar
from .live_panel import LivePanel
from .mode_pages import EditPage, GeneratePage
from .model_lists import set_choices
from .model_picker import ModelPicker
from .modes import ModeSwitcher
from .names import named
from .prompt import PromptEdit
from .results_strip import ResultsActions, ResultsStrip
from .style_picker import StylePicker
from .upscale_page import UpscalePage
from .workflow_page import WorkflowPage


class DockerWidget(QtWidgets.QWidget):
    def __init__(self, session: Session, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("ai_diffusion_content")
        self.session = session
        self.controller = session.controller
        self.connection = session.connection
        self.settings = session.settings
        self.secrets = session.secrets
        self.pods = session.pods
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        self.connection_section = ConnectionSection(session, self)
        layout.addWidget(self.connection_section)
        self._expose_connection()
        # Styles: one click sets model, LoRAs, prompt template, negative, sampling, size.
        self.styles = build_styles(session.settings_dir, session.model_choice, session.settings)
        self.style_picker = StylePicker(self.styles, self, self)
        # The model with its family on top; its sampling and pieces go to Advanced, its Edit
        # switch (and reference layers) to the Edit page.
        self.model_choice = session.model_choice
        self.model_picker = ModelPicker(
            self.model_choice,
            lambda text: setattr(self.controller, "message", text),
            self,
            parts_elsewhere=True,
        )
        self.checkpoint = self.model_picker.models
        self.model_picker.top_row.addWidget(self.style_picker, 2)
        layout.addWidget(self.model_picker)
        self.prompt = PromptEdit(self)
        layout.addWidget(self.prompt)
        self.bar = GenerateBar(self)
        self.generate_button = self.progress = self.bar.button
        self.cancel_button, self.queue = self.bar.cancel_button, self.bar.queue
        self.strength, self.strength_label = self.bar.strength, self.bar.strength_label
        layout.addWidget(self.bar)
        self.results = ResultsStrip(self)
        self.history, self.preview = self.results.history, self.results.preview
        self.apply_button, self.discard_button = (
            self.results.apply_button,
            self.results.discard_button,
        )
        layout.addWidget(self.results)
        self.message = named(QtWidgets.QLabel("", self), "ai_message")
        self.message.setWordWrap(True)
        self.elapsed = ElapsedLabel(self)
        layout.addWidget(self.message)
        layout.addWidget(self.elapsed)
        self.modes = ModeSwitcher(self)
        page = GeneratePage(
            self.model_picker, lambda text: setattr(self.controller, "message", text), self
        )
        self.lora_box, self.control_box, self.lists = page.lora_box, page.control_box, page.lists
        self.region_box = page.region_box
        self.document_regions = DocumentRegions()
        self._regions_for: str | None = None  # the document whose regions are shown
        self.region_box.changed.connect(self._keep_regions)
        self.advanced, self.resolution = page.advanced, page.resolution.box
        self.negative, self.batch = self.advanced.negative, self.advanced.batch
        self.seed, self.seed_random = self.advanced.seed, self.advanced.seed_random
        self.modes.set_page("generate", page)
        self.modes.set_page("edit", EditPage(self.model_picker, self))
        self.live = session.live
        self.live_panel = named(LivePanel(self.live, self._live_model, self), "ai_live")
        self.modes.set_page("live", self.live_panel)
        self.live_panel.regions = lambda: tuple(self.region_box.regions())
        self.region_box.changed.connect(self.live_panel.params_changed)
        self.live_panel.wrap = lambda text: (
            self.styles.style.wrap(text) if self.styles.style else text
        )
        bind(self.styles, "current", lambda _: self.live_panel.params_changed())
        self.workflow = session.workflow
        self.workflow_page = named(WorkflowPage(self.workflow, self), "ai_workflow")
        self.modes.set_page("workflow", self.workflow_page)
        self.upscale = UpscaleMode(self.controller, self.model_choice)
        self.upscale_page = named(UpscalePage(self.upscale, self._canvas_size, self), "ai_upscale")
        self.modes.set_page("upscale", self.upscale_page)
        layout.addWidget(self.modes)
        layout.addStretch()
        self._wire()
        self._load_settings()

    def _expose_connection(self) -> None:
        """The connection panel's widgets under the names the tests and scenarios use."""
        panel = self.connection_section.panel
        self.url, self.token, self.verify_tls = panel.url, panel.token, panel.verify_tls
        self.connect_button, self.refresh = panel.connect_button, panel.refresh
        self.settings_button, self.status, self.device = (
            panel.settings_button,
            panel.status,
            panel.device,
        )
        self.cloud_toggle, self.cloud_section = panel.cloud_toggle, panel.cloud_section
        self.pod_panel = panel.pod_panel

    def _live_model(self) -> tuple[str, str]:
        """Live painting uses the chosen model and negative prompt."""
        return self.checkpoint.currentText(), self.negative.toPlainText()

    def _on_mode(self, mode: str) -> None:
        """Edit mode is the model's instruction editing: on in the Edit page, off elsewhere."""
        choice = self.model_choice
        choice.edit = mode == "edit" and choice.edit_available
        if mode == "workflow" and not self.workflow.saved:
            self.workflow.refresh_saved()

    # Behaviour ----------------------------------------------------------------------------

    def _wire(self) -> None:
        c = self.controller
        self.connection_section.panel.settings_requested.connect(self.open_connection_dialog)
        self.prompt.submitted.connect(self.generate)
        self.bar.generate.connect(self.generate)
        self.bar.cancel.connect(self.cancel)
        self.result_actions = ResultsActions(self.results, c, self.advanced.reuse_seed)
        self.checkpoint.currentTextChanged.connect(self.live_panel.params_changed)
        self.modes.mode_changed.connect(self._on_mode)
        bind(self.model_choice, "edit", lambda on: self.modes.set_mode("edit") if on else None)
        bind(c, "message", self.message.setText)
        bind(self.workflow, "message", lambda text: setattr(c, "message", text) if text else None)
        bind(c, "progress", self.bar.set_progress)
        bind(c, "queued", self.bar.set_queue)
        bind(c, "busy", self._on_busy)
        bind(self.live, "active", lambda on: self.save_settings() if on else None)
        c.models_changed.connect(self._on_models)
        c.preview.connect(self.results.show_preview)
        c.history_changed.connect(self.refresh_history)

    def _load_settings(self) -> None:
        s = self.settings
        self.prompt.setPlainText(s.prompt)
        self.negative.setPlainText(s.negative_prompt)
        self.live_panel.prompt.setPlainText(s.live_prompt)
        self.batch.setValue(s.batch_size)

    def save_settings(self) -> None:
        s = self.settings
        s.prompt = self.prompt.toPlainText()
        s.negative_prompt = self.negative.toPlainText()
        s.live_prompt = self.live_panel.prompt.toPlainText()
        s.batch_size = self.batch.value()
        if self.model_choice.model:
            s.checkpoint = self.model_choice.model
        s.model_overrides = self.model_choice.saved
        self.session.save()

    def toggle_connection(self) -> None:
        self.connection_section.panel.toggle_connection()

    def open_connection_dialog(self) -> ConnectionDialog:
        dialog = ConnectionDialog(self.controller, self.connection, self)
        self.dialog = dialog
        dialog.open()
        return dialog

    def connect_to_pod(self, url: str, token: str) -> None:
        """A cloud pod is ready: connect to its ComfyUI with the pod's token."""
        self.session.connect_to_pod(url, token)

    def _on_busy(self, busy: bool) -> None:
        self.elapsed.set_busy(busy)
        if not busy:
            self.results.end_preview()

    def _on_models(self) -> None:
        client = self.controller.client
        if client is None:
            return
        m = client.models
        self.model_choice.set_server_models(m, self.model_choice.model or self.settings.checkpoint)
        set_choices(self.lora_box.pick, m.loras)
        # ControlNet files, and the model patches that are Z-Image's ControlNets.
        set_choices(self.control_box.model, m.controlnets + m.model_patches)
        self.upscale.set_server_models(getattr(m, "upscalers", []))
        self.canvas_changed()

    def canvas_changed(self) -> None:
        """The active document changed: layer choices, selection, its results history."""
        document = self.controller.documents.active()
        try:
            layers = document.layers() if document is not None else []
            self.control_box.set_layers(layers)
            self.region_box.set_layers(layers)
            self._show_regions_of(document)
            self.model_picker.set_layers(layers)
            self.bar.set_selection(document is not None and document.selection_bounds() is not None)
        except Exception as e:  # the adapter could not list layers: say so, keep going
            self.controller.message = getattr(e, "message", f"Could not list the layers: {e}")
        self.upscale_page.update_size()
        self.refresh_history()

    def _show_regions_of(self, document: Any) -> None:
        """Each document has its own regions (kept in it): a switch shows the new one's."""
        document_id = document.id if document is not None else None
        if document_id == self._regions_for:
            return
        self._regions_for = document_id
        regions = self.document_regions.of(document) if document is not None else []
        self.region_box.set_regions(regions)

    def _keep_regions(self) -> None:
        document = self.controller.documents.active()
        if document is not None and document.id == self._regions_for:
            self.document_regions.keep(document, self.region_box.regions())

    def _canvas_size(self) -> Any:
        document = self.controller.documents.active()
        return document.extent() if document is not None else None

    def params(self) -> Params:
        request = self.model_choice.request(
            seed=self.seed.value(),
            batch_size=self.batch.value(),
            prompt=self.prompt.toPlainText(),
            negative_prompt=self.negative.toPlainText(),
            strength=self.strength.value() / 100,
            loras=tuple(self.lora_box.loras()),
        )
        return Params(
            request,
            random_seed=self.seed_random.isChecked(),
            controls=tuple(self.control_box.controls()),
            references=tuple(self.model_picker.reference_layers()),
            regions=tuple(self.region_box.regions()),
            style=self.styles.style,  # its template wraps the prompt
        )

    # Actions (also triggered by Krita shortcuts) ---------------------------------------

    def generate(self) -> None:
        self.save_settings()
        self.progress.setValue(0)
        if self.modes.mode == "workflow":
            self.workflow_page.generate(self.prompt.toPlainText())
            return
        if self.modes.mode == "upscale":
            self.upscale.generate(self.prompt.toPlainText())
            return
        self.controller.generate(self.params())

    def cancel(self) -> None:
        self.controller.cancel()

    def toggle_live(self) -> None:
        self.modes.set_mode("live")
        self.live_panel.toggle()

    def keep_live(self) -> None:
        self.live.keep()

    def apply_result(self) -> None:
        self.result_actions.apply(self.results.current())

    def discard_result(self) -> None:
        result = self.results.current()
        if result is not None:
            self.controller.discard(result)

    def refresh_history(self) -> None:
        self.results.set_results(self.controller.history())


def create_docker_widget(
    parent: Any = None,
    documents: DocumentSource | None = None,
    settings_dir: Path | None = None,
    secrets: Any = None,
    connector: Connector | None = None,
    pods: PodController | None = None,
    providers: ProviderFactory = default_factory,
) -> DockerWidget:
    """The docker content over a new :class:`Session` (see ``state.session.build_session``)."""
    session = build_session(documents, settings_dir, secrets, connector, pods, providers)
    return DockerWidget(session, parent)
