"""Decree 30 visible stamps, checked on the rendered page (pdftoppm) by pixel sampling."""

from __future__ import annotations

import subprocess
from io import BytesIO

import pytest
from PIL import Image

from chinhquyenso.core.errors import ValidationFailed
from chinhquyenso.signing import demo, services, stamps, validation

DPI = 100
PAGE_HEIGHT = 842
ORG_NAME = "Ủy ban nhân dân tỉnh Lâm Đồng"

needs_poppler = pytest.mark.usefixtures("require_poppler")


@pytest.fixture(scope="module")
def images():
    return {"signature": demo.signature_png("Võ Minh Giang"), "seal": demo.seal_png(ORG_NAME)}


def signer_spec(images, **kw):
    return stamps.StampSpec(
        kind=stamps.SIGNER,
        document_type="quyet_dinh",
        position="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
        signer_name="Võ Minh Giang",
        signature_image=images["signature"],
        **kw,
    )


def seal_spec(images):
    return stamps.StampSpec(
        kind=stamps.ORGANISATION,
        document_type="quyet_dinh",
        organisation_name=ORG_NAME,
        seal_image=images["seal"],
    )


def render(pdf: bytes, tmp_path) -> Image.Image:
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(  # noqa: S603
        ["pdftoppm", "-r", str(DPI), "-png", "-f", "1", "-l", "1", "-singlefile", str(path),  # noqa: S607
         str(tmp_path / "page")],  # noqa: S607
        check=True,
        timeout=60,
    )  # fmt: skip
    return Image.open(tmp_path / "page.png").convert("RGB")


def pixels(image: Image.Image, box) -> list[tuple[int, int, int]]:
    """The pixels inside `box` (PDF points, origin bottom left) of a page rendered at DPI."""
    x1, y1, x2, y2 = box
    scale = DPI / 72
    crop = (
        round(x1 * scale),
        round((PAGE_HEIGHT - y2) * scale),
        round(x2 * scale),
        round((PAGE_HEIGHT - y1) * scale),
    )
    data = image.crop(crop).tobytes()
    return [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]


def blue(p) -> bool:
    r, g, b = p
    return b > 120 and b - r > 60 and b - g > 40


def red(p) -> bool:
    r, g, b = p
    return r > 150 and r - g > 80 and r - b > 80


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


# --- Geometry and refusals (no signing) -----------------------------------------------------


def test_seal_is_real_size_and_overlaps_the_left_third_of_the_image():
    placement = stamps.get_placement("quyet_dinh")
    x1, y1, x2, y2 = stamps.seal_box(placement, 38)
    ix1, iy1, ix2, iy2 = placement.image
    assert x2 - x1 == pytest.approx(38 * 72 / 25.4)  # 107.7 pt
    assert x2 == pytest.approx(ix1 + (ix2 - ix1) / 3)
    assert (y1 + y2) / 2 == pytest.approx((iy1 + iy2) / 2)


def test_placements_are_data(images):
    stamps.register_placement(
        "to_trinh_test",
        stamps.Placement(page=0, signer=(300, 100, 500, 230), image=(330, 130, 480, 190),
                         mark=(400, 770, 580, 830)),
    )  # fmt: skip
    spec = signer_spec(images)
    spec = stamps.StampSpec(**{**spec.__dict__, "document_type": "to_trinh_test"})
    _style, field = stamps.style_and_field(spec, field_name="Sig")
    assert field.box == (300, 100, 500, 230) and field.on_page == 0
    mark = stamps.StampSpec(kind=stamps.MARK, organisation_name=ORG_NAME)
    _style, field = stamps.style_and_field(mark, field_name="Mark")
    assert field.on_page == 0 and field.box[2] > 560 and field.box[3] > 800  # top right
    with pytest.raises(ValidationFailed) as err:
        stamps.get_placement("khong_co")
    assert err.value.code == "stamp_placement_unknown"


def test_refuses_missing_or_non_png_images(images):
    with pytest.raises(ValidationFailed) as err:
        stamps.style_and_field(stamps.StampSpec(kind=stamps.SIGNER), field_name="S")
    assert err.value.code == "stamp_image_missing"
    bad = stamps.StampSpec(kind=stamps.ORGANISATION, seal_image=b"\xff\xd8\xff jpeg")
    with pytest.raises(ValidationFailed) as err:
        stamps.style_and_field(bad, field_name="S")
    assert err.value.code == "stamp_image_format"
    with pytest.raises(ValidationFailed):
        stamps.StampSpec(kind=stamps.ORGANISATION, seal_diameter_mm=80)


def test_signing_time_is_iso_8601_in_vietnam_time():
    assert stamps.signing_time_text("2025-03-01T02:15:30+0000") == "2025-03-01T09:15:30+07:00"


# --- Signed and rendered --------------------------------------------------------------------


@needs_poppler
def test_signer_then_organisation_seal(
    demo_trusted, leader_key, organisation_key, sign_options, images, tmp_path
):
    pdf = demo.decision_pdf()
    first = services.sign_pdf(
        actor=None, pdf_bytes=pdf, key=leader_key, field_name="ChuTich", level="B-LT",
        stamp=signer_spec(images), options=sign_options,
    )  # fmt: skip
    both = services.sign_pdf(
        actor=None, pdf_bytes=first, key=organisation_key, field_name="CoQuan", level="B-LT",
        stamp=seal_spec(images), options=sign_options,
    )  # fmt: skip

    # Both signatures pass; the leader's stays valid after the organisation's revision.
    report = validation.validate_pdf(both)
    assert [s["field"] for s in report["signatures"]] == ["ChuTich", "CoQuan"]
    assert [s["verdict"]["indication"] for s in report["signatures"]] == ["passed", "passed"]
    assert report["signatures"][0]["signer"]["name"] == "Võ Minh Giang"

    page = render(both, tmp_path)
    placement = stamps.get_placement("quyet_dinh")
    ix1, iy1, ix2, iy2 = placement.image
    sx1, sy1, sx2, sy2 = stamps.seal_box(placement, 38)
    # Blue signature in the image area right of the seal.
    right_part = pixels(page, (sx2 + 2, iy1, ix2, iy2))
    assert sum(map(blue, right_part)) > 200
    # Red seal: in its box, and over the left third of the signature image.
    assert sum(map(red, pixels(page, (sx1, sy1, sx2, sy2)))) > 1500
    overlap = pixels(page, (ix1, iy1, sx2, iy2))
    assert sum(map(red, overlap)) > 100
    # Nothing red or blue outside the stamps (the document text is black).
    assert not any(red(p) or blue(p) for p in pixels(page, (40, 650, 560, 800)))

    text = text_of(both, tmp_path)
    assert ORG_NAME in text
    assert "PHÓ CHỦ TỊCH" in text and "Võ Minh Giang" in text
    assert "+07:00" in text


@needs_poppler
def test_organisation_mark_top_right(demo_trusted, organisation_key, sign_options, tmp_path):
    pdf = demo.decision_pdf()
    mark = stamps.StampSpec(
        kind=stamps.MARK, organisation_name=ORG_NAME, lines=("Số: 15/QĐ-UBND", "Bản sao điện tử")
    )
    signed = services.sign_pdf(
        actor=None, pdf_bytes=pdf, key=organisation_key, field_name="DauCoQuan", level="B-LT",
        stamp=mark, options=sign_options,
    )  # fmt: skip
    report = validation.validate_pdf(signed)
    assert report["signatures"][0]["verdict"]["indication"] == "passed"
    page = render(signed, tmp_path)
    x1, y1, x2, y2 = stamps.get_placement("quyet_dinh").mark
    dark = [p for p in pixels(page, (x1, y1, x2, y2)) if sum(p) < 300]
    assert len(dark) > 100  # text drawn in the top-right box
    text = text_of(signed, tmp_path)
    assert "Bản sao điện tử" in text and "Số: 15/QĐ-UBND" in text


def test_stamp_pdf_keeps_fonts_embedded(images):
    """Every font of the decision and its stamps is an embedded subset (no font substitution)."""
    pdf = demo.decision_pdf()
    assert b"/FontFile2" in pdf
    assert BytesIO(pdf).getvalue().count(b"/Type /Font") >= 3 or b"/Type0" in pdf
