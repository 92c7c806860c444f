"""Visible signature stamps as Decree 30/2020/NĐ-CP Annex I describes (DOMAIN.md §6.5).

Three kinds of stamp, each the appearance of one signature field:

- ``signer``: the signer's handwritten signature image (blue, transparent PNG) centred between
  the position line ("CHỦ TỊCH", "KT. CHỦ TỊCH / PHÓ CHỦ TỊCH") and the signer's full name.
- ``organisation``: the agency's red seal image at its real size (36–40 mm), overlapping about
  the left third of the signer's signature image, with the agency name and the signing time
  (ISO 8601, +07:00) in Times New Roman–compatible type (Liberation Serif), regular, size 10.
- ``mark``: the agency's mark at the top right of page 1 for attachments in separate files and
  electronic copies: no image (Annex I), or the seal image for digitised paper (TT 01/2019
  Art. 6.2.c), with the agency, the document's number/symbol or form of copy, and the time.

Where each stamp goes is data, not code: `PLACEMENTS` maps a document type ("quyet_dinh",
"cong_van", "giay_tiep_nhan", ...) to a page and boxes in PDF points (origin bottom left);
`register_placement` adds one. Text is drawn with an embedded subset of Liberation Serif (so
Vietnamese diacritics render everywhere and stay extractable).

`style_and_field(spec, field_name=...)` returns the pyHanko stamp style and the new field's
`SigFieldSpec`, which `services.sign_pdf(stamp=...)` hands to `PdfSigner`.
"""

from __future__ import annotations

import functools
import io
import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.sign import fields
from pyhanko.stamp import BaseStamp, TextStampStyle

from chinhquyenso.core.errors import ValidationFailed

# fontTools logs every subsetting step (and the dropped FFTM table); noise in our logs.
logging.getLogger("fontTools").setLevel(logging.ERROR)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MM = 72 / 25.4  # points per millimetre

FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")
FONT_REGULAR = "LiberationSerif-Regular.ttf"
FONT_BOLD = "LiberationSerif-Bold.ttf"

SIGNER, ORGANISATION, MARK = "signer", "organisation", "mark"
KINDS = (SIGNER, ORGANISATION, MARK)

# pyHanko passes the signing time (the signature dictionary's /M) formatted with this; it is
# parsed back and shown in Vietnam time, so the stamp and the signature agree to the second.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in points, origin bottom left


def font_path(name: str) -> str:
    """The Liberation Serif file `name` (settings.SIGNING_STAMP_FONT_DIR overrides the dir)."""
    directory = Path(getattr(settings, "SIGNING_STAMP_FONT_DIR", "") or FONT_DIR)
    path = directory / name
    if not path.exists():
        raise ValidationFailed(
            "Thiếu phông chữ Liberation Serif để vẽ hình chữ ký (gói fonts-liberation2).",
            code="stamp_font_missing",
        )
    return str(path)


# --- Placements: data per document type -----------------------------------------------------


@dataclass(frozen=True)
class Placement:
    """Where the stamps of one document type go.

    `page`: page of the signature block (0-based; -1 = last page). `signer`: the signer's block
    (position lines on top, name at the bottom, the signature image between). `image`: the
    signature image area inside it; the seal overlaps its left third. `mark`: the agency's mark
    at the top right of page 1. `seal_text_width`: room for the agency name and time right of
    the seal."""

    page: int
    signer: Box
    image: Box
    mark: Box
    seal_text_width: float = 150.0


# A4 is 595 × 842 pt; the signature block sits in the right column (Decree 30 Annex I layout:
# "quyền hạn, chức vụ của người ký" then signature then full name), above the "Nơi nhận" area.
PLACEMENTS: dict[str, Placement] = {
    "quyet_dinh": Placement(
        page=-1,
        # Below a body of a few paragraphs (Decree 30 Annex I: the signature block follows the
        # text, on the right; "Nơi nhận" on the left).
        signer=(330, 400, 540, 530),
        image=(360, 430, 510, 490),
        mark=(395, 770, 580, 830),
    ),
    "cong_van": Placement(
        page=-1,
        signer=(330, 440, 540, 570),
        image=(360, 470, 510, 530),
        mark=(395, 770, 580, 830),
    ),
    "giay_tiep_nhan": Placement(
        page=0,
        signer=(330, 200, 540, 330),
        image=(360, 230, 510, 290),
        mark=(395, 770, 580, 830),
    ),
    "bien_lai": Placement(
        page=0,
        signer=(330, 160, 540, 290),
        image=(360, 190, 510, 250),
        mark=(395, 770, 580, 830),
    ),
}


def register_placement(document_type: str, placement: Placement) -> None:
    """Add or replace the placement of a document type (e.g. from a module's AppConfig)."""
    PLACEMENTS[document_type] = placement


def get_placement(document_type: str) -> Placement:
    try:
        return PLACEMENTS[document_type]
    except KeyError:
        raise ValidationFailed(
            f"Chưa có mẫu vị trí chữ ký cho loại văn bản '{document_type}'.",
            code="stamp_placement_unknown",
        ) from None


# --- What to draw ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StampSpec:
    """One visible stamp. `kind` is "signer", "organisation" or "mark".

    signer: `position` (lines separated by "\\n", e.g. "KT. CHỦ TỊCH\\nPHÓ CHỦ TỊCH"),
    `signer_name`, `signature_image` (PNG bytes). organisation: `organisation_name`,
    `seal_image` (PNG bytes), `seal_diameter_mm`. mark: `organisation_name`, `lines` (number
    and symbol, or form of copy), optional `seal_image`. `box`/`page` override the placement."""

    kind: str
    document_type: str = "cong_van"
    position: str = ""
    signer_name: str = ""
    signature_image: bytes | None = None
    organisation_name: str = ""
    seal_image: bytes | None = None
    seal_diameter_mm: float = 38.0
    lines: tuple[str, ...] = ()
    page: int | None = None
    box: Box | None = None
    font_size: float = 10.0
    title_font_size: float = 13.0
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValidationFailed(
                f"Loại hình chữ ký không hợp lệ: {self.kind}.", code="stamp_kind"
            )
        if self.kind == ORGANISATION and not 30 <= self.seal_diameter_mm <= 45:
            raise ValidationFailed(
                "Đường kính con dấu phải theo kích thước thật (30–45 mm).", code="stamp_seal_size"
            )


def seal_box(placement: Placement, diameter_mm: float) -> Box:
    """The seal's square: real size, its right edge a third of the way into the signature
    image area, centred on it vertically (Decree 30 Annex I; Art. 33 for paper)."""
    x1, y1, x2, y2 = placement.image
    d = diameter_mm * MM
    right = x1 + (x2 - x1) / 3
    cy = (y1 + y2) / 2
    return (right - d, cy - d / 2, right, cy + d / 2)


def field_box(spec: StampSpec) -> Box:
    """The signature field's rectangle on the page for `spec`."""
    if spec.box is not None:
        return spec.box
    placement = get_placement(spec.document_type)
    if spec.kind == SIGNER:
        return placement.signer
    if spec.kind == ORGANISATION:
        sx1, sy1, sx2, sy2 = seal_box(placement, spec.seal_diameter_mm)
        return (sx1, sy1, sx2 + placement.seal_text_width, sy2)
    return placement.mark


def field_page(spec: StampSpec) -> int:
    if spec.page is not None:
        return spec.page
    if spec.kind == MARK:
        return 0  # Annex I: top right of the first page
    return get_placement(spec.document_type).page


# --- Drawing helpers ------------------------------------------------------------------------


def _num(value: float) -> bytes:
    """A PDF number: fixed point, never exponent notation (1e-15 is not a PDF number)."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return (text if text not in ("", "-0") else "0").encode("ascii")


def _nfc(text: str) -> str:
    # Precomposed Vietnamese letters map to single glyphs of Liberation Serif.
    return unicodedata.normalize("NFC", text)


class _Engine(GlyphAccumulator):
    """pyHanko's glyph accumulator, with widths and HarfBuzz advances in 1/1000 em.

    pyHanko writes glyph widths (/W) and TJ adjustments in font units, which PDF reads as
    thousandths of an em: right for 1000-unit fonts, but Liberation Serif has 2048 units per em
    and its glyphs come out twice as wide. Scaling everything to 1000 units fixes that."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._to_milli = 1000 / self.units_per_em
        self.hb_font.scale = (1000, 1000)
        self.units_per_em = 1000

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        if glyph_id not in self._glyphs:
            cid, width = super()._get_cid_and_width(glyph_id)
            self._glyphs[glyph_id] = (cid, round(width * self._to_milli))
        return self._glyphs[glyph_id]


@functools.cache
def _font_bytes(font_file: str) -> bytes:
    with open(font_file, "rb") as handle:
        return handle.read()


class TextPainter:
    """Lines of text in one embedded font (subset), measured for alignment."""

    def __init__(self, writer, font_file: str, size: float, resource_name: str):
        self.engine = _Engine(writer, io.BytesIO(_font_bytes(font_file)), font_size=size)
        self.size = size
        self.name = resource_name

    def width(self, text: str) -> float:
        return self.engine.shape(_nfc(text)).x_advance * self.size

    def wrap(self, text: str, width: float) -> list[str]:
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current = ""
            for word in paragraph.split():
                candidate = f"{current} {word}".strip()
                if current and self.width(candidate) > width:
                    lines.append(current)
                    current = word
                else:
                    current = candidate
            lines.append(current)
        return lines

    def line(
        self, text: str, x: float, y: float, *, align: str = "left", width: float = 0
    ) -> bytes:
        """One line with its baseline at `y`; `align` center/right within [x, x + width]."""
        text = _nfc(text)
        shaped = self.engine.shape(text)
        advance = shaped.x_advance * self.size
        if align == "center":
            x += (width - advance) / 2
        elif align == "right":
            x += width - advance
        return b"BT /%s %s Tf 1 0 0 1 %s %s Tm %s ET" % (
            self.name.encode("ascii"),
            _num(self.size),
            _num(x),
            _num(y),
            shaped.graphics_ops,
        )


def _png(data: bytes):
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGBA")


class _Canvas:
    """Collects drawing commands and their resources for one appearance stream."""

    def __init__(self, stamp: BaseStamp):
        self.stamp = stamp
        self.ops: list[bytes] = []
        self.fonts: dict[str, TextPainter] = {}

    def font(self, file_name: str, size: float) -> TextPainter:
        key = f"{file_name}@{size}"
        if key not in self.fonts:
            name = f"F{len(self.fonts) + 1}"
            painter = TextPainter(self.stamp.writer, font_path(file_name), size, name)
            self.stamp.set_resource(
                category=ResourceType.FONT,
                name=pdf_name("/" + name),
                value=painter.engine.as_resource(),
            )
            self.fonts[key] = painter
        return self.fonts[key]

    def image(self, png: bytes, x: float, y: float, w: float, h: float, *, fit: bool = True):
        pil = _png(png)
        if fit:  # keep the aspect ratio, centred in the box
            scale = min(w / pil.width, h / pil.height)
            dw, dh = pil.width * scale, pil.height * scale
            x, y, w, h = x + (w - dw) / 2, y + (h - dh) / 2, dw, dh
        img = PdfImage(pil, writer=self.stamp.writer, box=layout.BoxConstraints(w, h))
        draw = img.render()
        self.stamp.import_resources(img.resources)
        self.ops.append(b"q 1 0 0 1 %s %s cm %s Q" % (_num(x), _num(y), draw))
        return (x, y, x + w, y + h)

    def text(self, painter: TextPainter, text: str, x: float, y: float, **kw):
        self.ops.append(b"0 0 0 rg " + painter.line(text, x, y, **kw))


# --- The pyHanko stamp style ----------------------------------------------------------------


@dataclass(frozen=True)
class Decree30StampStyle(TextStampStyle):
    """A pyHanko stamp style drawing one `StampSpec` (a TextStampStyle only so that pyHanko
    passes the signing time as `ts`)."""

    spec: StampSpec | None = None
    border_width: int = 0
    timestamp_format: str = _TS_FORMAT

    def create_stamp(self, writer, box, text_params) -> Decree30Stamp:
        return Decree30Stamp(writer=writer, style=self, box=box, text_params=text_params)


def signing_time_text(ts: str | None) -> str:
    """ISO 8601 in Vietnam time with its offset, e.g. 2025-03-01T09:15:02+07:00."""
    moment = datetime.strptime(ts, _TS_FORMAT) if ts else datetime.now(VN)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VN)
    return moment.astimezone(VN).replace(microsecond=0).isoformat()


class Decree30Stamp(BaseStamp):
    def __init__(self, writer, style: Decree30StampStyle, box, text_params=None):
        super().__init__(writer=writer, style=style, box=box)
        self.text_params = text_params or {}

    def _render_inner_content(self):
        spec = self.style.spec
        canvas = _Canvas(self)
        w, h = self.box.width, self.box.height
        if spec.kind == SIGNER:
            self._signer(canvas, spec, w, h)
        elif spec.kind == ORGANISATION:
            self._organisation(canvas, spec, w, h)
        else:
            self._mark(canvas, spec, w, h)
        return [b"q", *canvas.ops, b"Q"]

    def _signer(self, canvas: _Canvas, spec: StampSpec, w: float, h: float):
        """Position lines at the top, name at the bottom, the signature image between."""
        bold = canvas.font(FONT_BOLD, spec.title_font_size)
        line_h = spec.title_font_size * 1.25
        y = h - spec.title_font_size
        for line in [p for p in spec.position.split("\n") if p.strip()]:
            canvas.text(bold, line.strip().upper(), 0, y, align="center", width=w)
            y -= line_h
        top = y + spec.title_font_size - 2
        if spec.signer_name:
            canvas.text(bold, spec.signer_name, 0, 4, align="center", width=w)
        bottom = line_h + 2
        if spec.signature_image:
            if spec.box is None:  # the template's image area, relative to the field
                placement = get_placement(spec.document_type)
                fx, fy = placement.signer[0], placement.signer[1]
                ix1, iy1, ix2, iy2 = placement.image
                canvas.image(spec.signature_image, ix1 - fx, iy1 - fy, ix2 - ix1, iy2 - iy1)
            else:
                canvas.image(spec.signature_image, 0, bottom, w, max(top - bottom, 1))

    def _organisation(self, canvas: _Canvas, spec: StampSpec, w: float, h: float):
        """The seal (real size) on the left, agency name and signing time to its right."""
        d = spec.seal_diameter_mm * MM
        if spec.seal_image:
            canvas.image(spec.seal_image, 0, (h - d) / 2, d, d, fit=True)
        regular = canvas.font(FONT_REGULAR, spec.font_size)
        text_x = d + 3
        lines = regular.wrap(spec.organisation_name, max(w - text_x, 20))
        lines.append(signing_time_text(self.text_params.get("ts")))
        leading = spec.font_size * 1.2
        y = h / 2 + (len(lines) * leading) / 2 - spec.font_size
        for line in lines:
            canvas.text(regular, line, text_x, y)
            y -= leading

    def _mark(self, canvas: _Canvas, spec: StampSpec, w: float, h: float):
        """Top right of page 1: optional seal image, then the agency, lines and time."""
        regular = canvas.font(FONT_REGULAR, spec.font_size)
        text_x = 0.0
        if spec.seal_image:
            d = min(spec.seal_diameter_mm * MM, h)
            canvas.image(spec.seal_image, 0, (h - d) / 2, d, d)
            text_x = d + 3
        lines = regular.wrap(spec.organisation_name, max(w - text_x, 20))
        lines += [line for line in spec.lines if line]
        lines.append(signing_time_text(self.text_params.get("ts")))
        leading = spec.font_size * 1.2
        y = h - spec.font_size
        for line in lines:
            canvas.text(regular, line, text_x, y, align="right", width=w - text_x)
            y -= leading


def style_and_field(
    spec: StampSpec, *, field_name: str
) -> tuple[Decree30StampStyle, fields.SigFieldSpec]:
    """The pyHanko stamp style and new field for `spec` (see `services.sign_pdf(stamp=...)`)."""
    if spec.kind == SIGNER and not spec.signature_image:
        raise ValidationFailed("Thiếu hình ảnh chữ ký của người ký.", code="stamp_image_missing")
    if spec.kind == ORGANISATION and not spec.seal_image:
        raise ValidationFailed("Thiếu hình ảnh con dấu của cơ quan.", code="stamp_image_missing")
    for png in (spec.signature_image, spec.seal_image):
        if png is not None and not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValidationFailed(
                "Hình ảnh chữ ký/con dấu phải là tệp PNG nền trong suốt.", code="stamp_image_format"
            )
    x1, y1, x2, y2 = field_box(spec)
    style = Decree30StampStyle(spec=spec)
    field_spec = fields.SigFieldSpec(
        sig_field_name=field_name,
        on_page=field_page(spec),
        box=(round(x1), round(y1), round(x2), round(y2)),
    )
    return style, field_spec


__all__ = [
    "KINDS",
    "MARK",
    "ORGANISATION",
    "PLACEMENTS",
    "SIGNER",
    "Decree30StampStyle",
    "Placement",
    "StampSpec",
    "TextPainter",
    "field_box",
    "get_placement",
    "register_placement",
    "seal_box",
    "style_and_field",
]
