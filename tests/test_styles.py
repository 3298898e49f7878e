"""Styles as data: the JSON file round trip, the prompt template, the store in the settings
folder (names that clash on import, shipped styles that stay), and bad files in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai_diffusion.request import LoraRef, Resolution
from ai_diffusion.state.style_defaults import SHIPPED
from ai_diffusion.state.styles import (
    Style,
    StyleError,
    StyleModel,
    StyleSampling,
    StyleStore,
    apply_template,
)
from ai_diffusion.workflow.families import detect

FULL = Style(
    "Ink wash",
    StyleModel(
        "flux1-dev.safetensors", "flux-dev", ("clip_l.safetensors", "t5.safetensors"), "ae.sft"
    ),
    loras=(LoraRef("ink.safetensors", 0.75), LoraRef("paper.safetensors", -0.5)),
    template="ink wash painting of {prompt}, (rice paper:1.2)",
    negative="photo, colour",
    sampling=StyleSampling(steps=12, cfg=3.5, guidance=2.5, sampler="euler", scheduler="beta"),
    resolution=Resolution(scale=1.5),
)


def test_a_style_comes_back_from_its_json_file_unchanged() -> None:
    text = FULL.to_text()
    assert json.loads(text)["version"] == 1
    assert Style.from_text(text) == FULL
    bare = Style("Only a prompt", template="watercolour")
    assert Style.from_text(bare.to_text()) == bare
    own = Style("Own size", resolution=Resolution(own_size=True))
    assert Style.from_text(own.to_text()).resolution == Resolution(own_size=True)


def test_unknown_fields_are_ignored() -> None:
    data = FULL.to_json()
    data["colour_label"] = "red"
    data["model"]["hash"] = "abc"
    data["sampling"]["denoise"] = 0.3
    assert Style.from_text(json.dumps(data)) == FULL


def test_unset_sampling_values_stay_the_familys() -> None:
    data = Style("Plain").to_json()
    assert data["sampling"] == {}
    assert Style.from_text(json.dumps(data)).sampling.values() == {}


@pytest.mark.parametrize(
    ("template", "prompt", "sent"),
    [
        ("{prompt}, oil painting", "a fox", "a fox, oil painting"),
        ("masterpiece, {prompt}, detailed", "a fox", "masterpiece, a fox, detailed"),
        ("oil painting", "a fox", "a fox, oil painting"),  # no {prompt}: added after it
        ("", "a fox", "a fox"),
        ("{prompt}", "a fox", "a fox"),
        ("{prompt}, oil painting", "", "oil painting"),  # no stray comma
        ("masterpiece, {prompt}, detailed", "", "masterpiece, detailed"),
        ("oil painting", "", "oil painting"),
        ("{prompt} {prompt}", "x", "x x"),
        ("(red:1.2) {prompt}", "{hat}", "(red:1.2) {hat}"),  # braces in the prompt stay
    ],
)
def test_the_template_wraps_the_prompt(template: str, prompt: str, sent: str) -> None:
    assert apply_template(template, prompt) == sent
    assert Style("s", template=template).wrap(prompt) == sent


def test_styles_are_kept_one_file_each_in_the_settings_folder(tmp_path: Path) -> None:
    folder = tmp_path / "styles"
    store = StyleStore(folder, SHIPPED)
    saved = store.add(FULL)
    assert saved == FULL and (folder / "Ink_wash.json").is_file()
    again = StyleStore(folder, SHIPPED)
    assert again.get("Ink wash") == FULL
    assert [s.name for s in again.styles()][: len(SHIPPED)] == [s.name for s in SHIPPED]

    renamed = again.update("Ink wash", Style("Ink & wash", template="{prompt}, sumi-e"))
    assert renamed.name == "Ink & wash"
    assert [p.name for p in folder.iterdir()] == ["Ink__wash.json"]
    assert StyleStore(folder).get("Ink & wash").template == "{prompt}, sumi-e"
    assert StyleStore(folder).get("Ink wash") is None

    again.delete("Ink & wash")
    assert list(folder.iterdir()) == [] and StyleStore(folder).styles() == []


def test_a_rename_onto_another_styles_name_is_refused(tmp_path: Path) -> None:
    store = StyleStore(tmp_path, SHIPPED)
    store.add(Style("Mine"))
    store.add(Style("Other"))
    with pytest.raises(StyleError, match="'other' exists already"):
        store.update("Mine", Style("other"))
    with pytest.raises(StyleError, match="exists already"):
        store.update("Mine", Style(SHIPPED[0].name))
    assert store.get("Mine") is not None  # unchanged


def test_shipped_styles_cannot_be_changed_or_deleted_but_copied(tmp_path: Path) -> None:
    store = StyleStore(tmp_path, SHIPPED)
    name = SHIPPED[0].name
    with pytest.raises(StyleError, match="comes with the plugin"):
        store.delete(name)
    with pytest.raises(StyleError, match="comes with the plugin"):
        store.update(name, Style("x"))
    copy = store.copy(name)
    assert copy.name == f"{name} (copy)" and not copy.shipped
    assert copy.template == SHIPPED[0].template and copy.model == SHIPPED[0].model
    assert store.get(name).shipped and store.get(name) == SHIPPED[0]


def test_an_imported_style_whose_name_is_taken_becomes_name_2(tmp_path: Path) -> None:
    store = StyleStore(tmp_path / "styles", SHIPPED)
    store.add(FULL)
    exported = tmp_path / "ink.json"
    store.export("Ink wash", exported)
    assert store.import_file(exported).name == "Ink wash (2)"
    assert store.import_file(exported).name == "Ink wash (3)"
    assert store.get("Ink wash (3)") == Style(**{**FULL.__dict__, "name": "Ink wash (3)"})
    shipped = tmp_path / "shipped.json"
    store.export(SHIPPED[0].name, shipped)
    assert store.import_file(shipped).name == f"{SHIPPED[0].name} (2)"
    # All of them are files of their own now.
    assert len(StyleStore(tmp_path / "styles").styles()) == 4


BAD = {
    "not json": ("{oops", "it is not JSON"),
    "a workflow": (json.dumps({"3": {"class_type": "KSampler"}}), "it is not a style file"),
    "newer": (json.dumps({"version": 99, "name": "x"}), "newer version of the plugin"),
    "no name": (json.dumps({"version": 1, "name": "  "}), "it has no name"),
    "lora list": (json.dumps({"version": 1, "name": "x", "loras": "a"}), "loras is not a list"),
    "lora strength": (
        json.dumps({"version": 1, "name": "x", "loras": [{"name": "a", "strength": "hi"}]}),
        "strength of LoRA 'a' is not a number",
    ),
    "steps": (
        json.dumps({"version": 1, "name": "x", "sampling": {"steps": 0}}),
        "steps are not a whole number",
    ),
    "scale": (
        json.dumps({"version": 1, "name": "x", "resolution": {"scale": 9}}),
        "resolution scale",
    ),
    "template": (json.dumps({"version": 1, "name": "x", "prompt_template": 3}), "not text"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_file_is_one_error_in_words(tmp_path: Path, case: str) -> None:
    text, reason = BAD[case]
    path = tmp_path / "bad.json"
    path.write_text(text)
    store = StyleStore(tmp_path / "styles", SHIPPED)
    with pytest.raises(StyleError) as caught:
        store.import_file(path)
    message = caught.value.message
    assert "'bad.json'" in message and reason in message and "Export" in message
    assert "\n" not in message and "Error" not in message  # one line, no exception name
    assert len(store.styles()) == len(SHIPPED)  # nothing was added


def test_a_file_that_is_not_text_is_said_so(tmp_path: Path) -> None:
    path = tmp_path / "picture.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(StyleError, match="'picture.json' can't be read"):
        StyleStore(None).import_file(path)
    with pytest.raises(StyleError, match="can't be read"):
        StyleStore(None).import_file(tmp_path / "gone.json")


def test_a_bad_file_in_the_folder_is_listed_and_the_others_load(tmp_path: Path) -> None:
    folder = tmp_path / "styles"
    StyleStore(folder).add(FULL)
    (folder / "broken.json").write_text("{")
    store = StyleStore(folder)
    assert store.get("Ink wash") == FULL
    assert len(store.problems) == 1 and "'broken.json'" in store.problems[0]
    assert (folder / "broken.json").read_text() == "{"  # left alone


def test_the_shipped_styles_name_their_familys_usual_files() -> None:
    families = {s.name: detect(s.model.file) for s in SHIPPED}
    assert {name: f.id if f else None for name, f in families.items()} == {
        "SD1.5 painterly": None,  # an SD1.5 checkpoint name says no family: the fallback
        "SDXL illustration": "sdxl",
        "Illustrious anime": "sdxl-illustrious",
        "Flux photo": "flux-dev",
        "Z-Image concept art": "z-image-turbo",
    }
    for style in SHIPPED:
        assert Style.from_text(style.to_text()) == style
        assert "{prompt}" in style.template
