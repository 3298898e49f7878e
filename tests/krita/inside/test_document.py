"""Runs inside Krita (kritarunner): the document adapter on real Krita documents."""

import pytest
from krita import Krita, Selection

from ai_diffusion.errors import UserError
from ai_diffusion.krita_adapter.document import PREVIEW_LAYER, KritaDocument, KritaDocuments
from ai_diffusion.qt import QtGui
from ai_diffusion.request import Bounds, Image


def _document(width=64, height=48, model="RGBA", depth="U8"):
    doc = Krita.instance().createDocument(width, height, "test", model, depth, "", 72.0)
    return doc


def _fill(doc, bgra):
    layer = doc.rootNode().childNodes()[0]
    layer.setPixelData(bytes(bgra) * (doc.width() * doc.height()), 0, 0, doc.width(), doc.height())
    doc.refreshProjection()
    doc.waitForDone()
    return layer


def _decode(image: Image) -> QtGui.QImage:
    qimage = QtGui.QImage()
    assert qimage.loadFromData(image.data)
    return qimage


def _png(width, height, rgba) -> Image:
    qimage = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    qimage.fill(QtGui.QColor(*rgba))
    from ai_diffusion.krita_adapter.document import _png as encode

    return Image(encode(qimage), width, height)


def test_reads_the_canvas_as_png_with_the_right_colours():
    doc = _document()
    _fill(doc, [0, 0, 255, 255])  # BGRA: pure red
    adapter = KritaDocument(doc)
    assert (adapter.extent().width, adapter.extent().height) == (64, 48)
    image = adapter.read_image(Bounds(8, 8, 16, 12))
    assert (image.width, image.height) == (16, 12)
    pixel = _decode(image).pixelColor(3, 3)
    assert (pixel.red(), pixel.green(), pixel.blue(), pixel.alpha()) == (255, 0, 0, 255)
    doc.close()


def test_selection_becomes_bounds_and_a_grayscale_mask():
    doc = _document()
    adapter = KritaDocument(doc)
    assert adapter.selection_bounds() is None
    selection = Selection()
    selection.select(10, 12, 20, 8, 255)
    doc.setSelection(selection)
    assert adapter.selection_bounds() == Bounds(10, 12, 20, 8)
    mask = _decode(adapter.selection_mask(Bounds(0, 0, 64, 48)))
    assert QtGui.qGray(mask.pixel(15, 15)) == 255
    assert QtGui.qGray(mask.pixel(2, 2)) == 0
    doc.close()


def test_apply_result_adds_one_layer_with_soft_alpha_at_the_bounds():
    doc = _document()
    _fill(doc, [255, 0, 0, 255])  # blue background
    adapter = KritaDocument(doc)
    before = len(doc.rootNode().childNodes())
    layer_id = adapter.apply_result(
        _png(16, 16, (0, 255, 0, 128)), Bounds(4, 4, 16, 16), "[AI] test (1)"
    )
    nodes = doc.rootNode().childNodes()
    assert len(nodes) == before + 1
    top = nodes[-1]
    assert top.name() == "[AI] test (1)" and top.uniqueId().toString() == layer_id
    b, g, r, a = bytes(top.pixelData(10, 10, 1, 1))
    assert (r, g, b) == (0, 255, 0) and abs(a - 128) <= 1
    assert bytes(top.pixelData(0, 0, 1, 1)) == bytes(4)  # outside: untouched
    doc.close()


def test_preview_layer_is_created_updated_and_hidden():
    doc = _document()
    adapter = KritaDocument(doc)
    adapter.show_preview(_png(8, 8, (255, 255, 0, 255)), Bounds(0, 0, 32, 32))
    adapter.show_preview(_png(8, 8, (0, 255, 255, 255)), Bounds(0, 0, 32, 32))
    previews = [n for n in doc.rootNode().childNodes() if n.name() == PREVIEW_LAYER]
    assert len(previews) == 1
    b, g, r, a = bytes(previews[0].pixelData(20, 20, 1, 1))
    assert (r, g, b, a) == (0, 255, 255, 255)  # scaled to the bounds, latest preview shown
    assert PREVIEW_LAYER not in [layer.name for layer in adapter.layers()]
    created = previews[0].uniqueId()
    adapter.hide_preview()
    # Hidden and emptied, not removed (removing a layer would be an undo step).
    preview = next(n for n in doc.rootNode().childNodes() if n.name() == PREVIEW_LAYER)
    assert not preview.visible() and bytes(preview.pixelData(20, 20, 1, 1))[3] == 0
    doc.refreshProjection()
    doc.waitForDone()
    assert bytes(doc.pixelData(20, 20, 1, 1)) == bytes([255, 255, 255, 255])  # not on canvas
    adapter.show_preview(_png(8, 8, (255, 0, 0, 255)), Bounds(0, 0, 32, 32))
    assert preview.visible() and preview.uniqueId() == created  # the same layer again
    doc.close()


def test_applied_results_go_under_the_preview_so_it_is_never_added_again():
    doc = _document()
    adapter = KritaDocument(doc)
    adapter.show_preview(_png(8, 8, (255, 255, 0, 255)), Bounds(0, 0, 8, 8))
    created = doc.rootNode().childNodes()[-1].uniqueId()
    adapter.apply_result(_png(8, 8, (0, 0, 255, 255)), Bounds(0, 0, 8, 8), "[AI] kept (1)")
    names = [n.name() for n in doc.rootNode().childNodes()]
    assert names[1:] == ["[AI] kept (1)", PREVIEW_LAYER]
    adapter.show_preview(_png(8, 8, (255, 0, 255, 255)), Bounds(0, 0, 8, 8))
    assert doc.rootNode().childNodes()[-1].uniqueId() == created
    doc.close()


def test_documents_are_found_by_id_until_closed():
    doc = _document()
    adapter = KritaDocument(doc)
    documents = KritaDocuments()
    assert documents.find(adapter.id) is not None
    doc.close()
    assert documents.find(adapter.id) is None


def test_a_crop_reads_the_pixels_at_its_own_place():
    doc = _document()
    layer = _fill(doc, [255, 0, 0, 255])  # blue
    layer.setPixelData(bytes([0, 0, 255, 255]) * 16, 20, 10, 4, 4)  # red 4x4 square at (20, 10)
    doc.refreshProjection()
    doc.waitForDone()
    crop = _decode(KritaDocument(doc).read_image(Bounds(18, 8, 8, 8)))
    assert (crop.width(), crop.height()) == (8, 8)
    red, blue = QtGui.QColor(255, 0, 0), QtGui.QColor(0, 0, 255)
    assert crop.pixelColor(2, 2) == red and crop.pixelColor(5, 5) == red
    assert crop.pixelColor(1, 1) == blue and crop.pixelColor(6, 6) == blue
    doc.close()


def test_a_soft_selection_gives_grey_mask_values_inside_its_bounds():
    doc = _document()
    selection = Selection()
    selection.select(10, 12, 20, 8, 128)
    doc.setSelection(selection)
    adapter = KritaDocument(doc)
    bounds = adapter.selection_bounds()
    assert bounds == Bounds(10, 12, 20, 8)
    mask = _decode(adapter.selection_mask(bounds))
    assert (mask.width(), mask.height()) == (20, 8)
    assert abs(QtGui.qGray(mask.pixel(0, 0)) - 128) <= 1
    assert abs(QtGui.qGray(mask.pixel(19, 7)) - 128) <= 1
    doc.close()


def test_layers_are_listed_and_one_layer_is_read_without_those_above():
    doc = _document()
    background = _fill(doc, [0, 255, 0, 255])  # green
    top = doc.createNode("sketch", "paintlayer")
    top.setPixelData(bytes([0, 0, 255, 255]) * (64 * 48), 0, 0, 64, 48)  # red, covers all
    doc.rootNode().addChildNode(top, None)
    doc.refreshProjection()
    doc.waitForDone()
    adapter = KritaDocument(doc)
    names = {layer.name: layer for layer in adapter.layers()}
    assert set(names) == {"Background", "sketch"}
    assert names["sketch"].kind == "paintlayer"
    image = _decode(adapter.read_layer(background.uniqueId().toString(), Bounds(4, 4, 8, 8)))
    assert image.pixelColor(1, 1) == QtGui.QColor(0, 255, 0)
    visible = _decode(adapter.read_image(Bounds(4, 4, 8, 8)))
    assert visible.pixelColor(1, 1) == QtGui.QColor(255, 0, 0)
    doc.close()


def test_a_deleted_control_layer_gets_a_clear_message():
    doc = _document()
    with pytest.raises(UserError) as error:
        KritaDocument(doc).read_layer("{00000000-0000-0000-0000-000000000000}", Bounds(0, 0, 4, 4))
    assert "ControlNet" in error.value.message
    doc.close()


def test_the_preview_stays_on_top_when_the_painter_adds_a_layer():
    doc = _document()
    adapter = KritaDocument(doc)
    adapter.show_preview(_png(8, 8, (255, 255, 0, 255)), Bounds(0, 0, 8, 8))
    doc.rootNode().addChildNode(doc.createNode("new", "paintlayer"), None)
    adapter.show_preview(_png(8, 8, (255, 0, 255, 255)), Bounds(0, 0, 8, 8))
    names = [n.name() for n in doc.rootNode().childNodes()]
    assert names[-1] == PREVIEW_LAYER and names.count(PREVIEW_LAYER) == 1
    doc.close()


def test_a_new_preview_clears_what_the_last_one_left_outside_its_bounds():
    doc = _document()
    adapter = KritaDocument(doc)
    adapter.show_preview(_png(32, 32, (255, 0, 0, 255)), Bounds(0, 0, 32, 32))
    adapter.show_preview(_png(8, 8, (0, 0, 255, 255)), Bounds(40, 30, 8, 8))
    preview = doc.rootNode().childNodes()[-1]
    assert bytes(preview.pixelData(5, 5, 1, 1))[3] == 0
    assert bytes(preview.pixelData(42, 32, 1, 1)) == bytes([255, 0, 0, 255])
    doc.close()


OTHER_SPACES = [("GRAYA", "U8"), ("RGBA", "U16"), ("RGBA", "F32"), ("CMYKA", "U8")]


@pytest.mark.parametrize("model, depth", OTHER_SPACES)
def test_other_colour_spaces_are_read_as_rgb_8_bit_without_changing_the_document(model, depth):
    doc = _document(model=model, depth=depth)  # white background
    KritaDocument(doc).apply_result(_png(8, 8, (0, 0, 0, 255)), Bounds(0, 0, 8, 8), "black")
    open_documents = len(Krita.instance().documents())
    image = _decode(KritaDocument(doc).read_image(Bounds(0, 0, 16, 16)))
    assert len(Krita.instance().documents()) == open_documents  # the RGB copy is gone
    assert image.pixelColor(2, 2) == QtGui.QColor(0, 0, 0)
    white = image.pixelColor(12, 12)
    assert min(white.red(), white.green(), white.blue()) >= 250, white.name()
    assert (doc.colorModel(), doc.colorDepth()) == (model, depth)
    doc.close()


@pytest.mark.parametrize("model, depth", OTHER_SPACES)
def test_results_land_in_other_colour_spaces_with_their_soft_alpha(model, depth):
    doc = _document(model=model, depth=depth)
    adapter = KritaDocument(doc)
    adapter.show_preview(_png(8, 8, (255, 0, 0, 255)), Bounds(0, 0, 8, 8))
    adapter.apply_result(_png(8, 8, (0, 0, 0, 128)), Bounds(0, 0, 8, 8), "[AI] soft (2)")
    shown = [n for n in doc.rootNode().childNodes() if n.visible()]
    assert shown[-1].name() == "[AI] soft (2)"  # the preview is hidden
    b, g, r, a = bytes(shown[-1].pixelData(3, 3, 1, 1))
    assert (r, g, b) == (0, 0, 0) and abs(a - 128) <= 1
    doc.close()


def test_a_grey_control_layer_is_read_as_rgb():
    doc = _document(model="GRAYA", depth="U8")
    background = doc.rootNode().childNodes()[0]
    background.setPixelData(bytes([0, 255]) * (64 * 48), 0, 0, 64, 48)  # grey+alpha: black
    adapter = KritaDocument(doc)
    image = _decode(adapter.read_layer(background.uniqueId().toString(), Bounds(0, 0, 4, 4)))
    assert image.pixelColor(1, 1) == QtGui.QColor(0, 0, 0)
    assert background.colorModel() == "GRAYA"  # the painter's layer is untouched
    doc.close()


def test_a_preview_that_cannot_be_decoded_is_skipped():
    doc = _document()
    adapter = KritaDocument(doc)
    adapter.show_preview(Image(b"not an image", 8, 8), Bounds(0, 0, 8, 8))
    assert PREVIEW_LAYER not in [n.name() for n in doc.rootNode().childNodes()]
    with pytest.raises(UserError) as error:
        adapter.apply_result(Image(b"not an image", 8, 8), Bounds(0, 0, 8, 8), "[AI] x (1)")
    assert "could not be read" in error.value.message
    doc.close()


def test_update_layer_replaces_pixels_in_the_bounds_and_keeps_the_layer_as_it_was():
    doc = _document()
    adapter = KritaDocument(doc)
    layer_id = adapter.apply_result(_png(64, 48, (255, 0, 0, 255)), Bounds(0, 0, 64, 48), "Out")
    adapter.apply_result(_png(8, 8, (0, 0, 0, 255)), Bounds(0, 0, 8, 8), "above")
    node = adapter._node(layer_id)
    node.setOpacity(128)
    node.setBlendingMode("multiply")
    names = [n.name() for n in doc.rootNode().childNodes()]
    new_id = adapter.update_layer(layer_id, _png(16, 16, (0, 0, 255, 255)), Bounds(8, 8, 16, 16))
    assert [n.name() for n in doc.rootNode().childNodes()] == names  # same place, same name
    updated = adapter._node(new_id)
    assert adapter._node(layer_id) is None or new_id == layer_id
    assert (updated.opacity(), updated.blendingMode()) == (128, "multiply")
    b, g, r, a = bytes(updated.pixelData(10, 10, 1, 1))
    assert (r, g, b, a) == (0, 0, 255, 255)  # inside the bounds: the new image
    b, g, r, a = bytes(updated.pixelData(40, 40, 1, 1))
    assert (r, g, b, a) == (255, 0, 0, 255)  # outside: what the layer had
    doc.close()


def test_only_paint_layers_are_updated():
    doc = _document()
    adapter = KritaDocument(doc)
    group = doc.createNode("Group", "grouplayer")
    doc.rootNode().addChildNode(group, None)
    with pytest.raises(UserError, match="not a paint layer"):
        adapter.update_layer(
            group.uniqueId().toString(), _png(8, 8, (0, 0, 0, 255)), Bounds(0, 0, 8, 8)
        )
    doc.close()


def test_a_layer_mask_is_where_the_layer_has_pixels_and_none_elsewhere():
    doc = _document()
    adapter = KritaDocument(doc)
    group = doc.createNode("Barn", "grouplayer")
    doc.rootNode().addChildNode(group, None)
    inside = doc.createNode("walls", "paintlayer")
    group.addChildNode(inside, None)
    inside.setPixelData(bytes([0, 0, 255, 128]) * (16 * 8), 4, 4, 16, 8)  # half opaque
    doc.refreshProjection()
    doc.waitForDone()
    group.setVisible(False)  # a hidden region layer still counts
    group_id = group.uniqueId().toString()
    mask = _decode(adapter.layer_mask(group_id, Bounds(0, 0, 64, 48)))
    assert (mask.width(), mask.height()) == (64, 48)
    assert abs(QtGui.qGray(mask.pixel(8, 8)) - 128) <= 1 and QtGui.qGray(mask.pixel(40, 30)) == 0
    assert adapter.layer_mask(group_id, Bounds(32, 24, 32, 24)) is None  # nothing there
    doc.close()
