"""Documents and images of the demo (issue #4), drawn directly with embedded Liberation Serif
(no HTML layout, a few milliseconds each): signature and seal images (transparent PNG), the demo
Quyết định, and `a4_page` that makes any such one-page A4 PDF. Nothing here is legally
meaningful: every document says DEMO."""

from __future__ import annotations

import hashlib
import io
import math
import random
import unicodedata

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from chinhquyenso.signing import stamps

ORG_TINH = "UBND tỉnh Lâm Đồng"


def a4_page(writer: PdfFileWriter, painters, ops: list[bytes]) -> bytes:
    """The one-page A4 PDF whose content is `ops`, drawn with `painters` (`stamps.TextPainter`,
    their fonts embedded as resources)."""
    fonts = generic.DictionaryObject(
        {generic.NameObject(f"/{p.name}"): p.engine.as_resource() for p in painters}
    )
    stream = generic.StreamObject(stream_data=b"\n".join(ops))
    stream.compress()
    page = PageObject(
        contents=writer.add_object(stream),
        media_box=(0, 0, 595, 842),
        resources=generic.DictionaryObject({generic.NameObject("/Font"): fonts}),
    )
    writer.insert_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- Images -------------------------------------------------------------------------------

BLUE = (20, 50, 170, 255)
RED = (215, 20, 30, 255)


def _png(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def signature_png(name: str, *, width: int = 600, height: int = 200) -> bytes:
    """A blue handwriting-like scribble on a transparent background (3:1 like the image areas
    of `stamps.PLACEMENTS`), the same for the same name."""
    from PIL import Image, ImageDraw

    rng = random.Random(hashlib.sha256(name.encode()).digest())
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    loops = 5 + rng.randint(0, 3)
    phase = rng.random() * 3
    points = []
    for i in range(400):
        t = i / 399
        x = 40 + t * (width - 120) + math.cos(t * loops * 2 * math.pi) * 22
        y = height / 2 + math.sin(t * loops * 2 * math.pi) * height * 0.28 * (1 - 0.5 * t)
        y += math.sin(t * 3.1 + phase) * height * 0.08
        points.append((x, y))
    draw.line(points, fill=BLUE, width=7, joint="curve")
    flourish = [
        (60 + t * (width - 100), height * 0.8 - math.sin(t * math.pi) * height * 0.12)
        for t in (i / 99 for i in range(100))
    ]
    draw.line(flourish, fill=BLUE, width=6, joint="curve")
    return _png(image)


def seal_png(organisation: str, *, size: int = 600) -> bytes:
    """A red round seal on a transparent background: two rings, the name around, a star."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    c = size / 2
    outer = size / 2 - 6
    inner = outer * 0.62
    draw.ellipse((c - outer, c - outer, c + outer, c + outer), outline=RED, width=14)
    draw.ellipse((c - inner, c - inner, c + inner, c + inner), outline=RED, width=6)
    star = []
    for k in range(10):
        r = inner * (0.55 if k % 2 == 0 else 0.22)
        a = -math.pi / 2 + k * math.pi / 5
        star.append((c + r * math.cos(a), c + r * math.sin(a)))
    draw.polygon(star, fill=RED)
    text = unicodedata.normalize("NFC", organisation.upper())
    font = ImageFont.truetype(stamps.font_path(stamps.FONT_BOLD), int(size * 0.075))
    radius = (outer + inner) / 2
    span = min(math.radians(300), len(text) * math.radians(12))
    cell = int(size * 0.12)
    for i, ch in enumerate(text):
        angle = -math.pi / 2 - span / 2 + (i + 0.5) * span / max(len(text), 1)
        glyph = Image.new("RGBA", (cell, cell), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((cell / 2, cell / 2), ch, font=font, fill=RED, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.BICUBIC)
        x = c + radius * math.cos(angle) - cell / 2
        y = c + radius * math.sin(angle) - cell / 2
        image.alpha_composite(glyph, (int(x), int(y)))
    return _png(image)


# --- The demo decision --------------------------------------------------------------------


def decision_pdf(
    *,
    organisation: str = ORG_TINH,
    number: str = "15/QĐ-UBND",
    subject: str = "Về việc công bố danh mục thủ tục hành chính thực hiện trực tuyến toàn trình",
    body: tuple[str, ...] = (),
) -> bytes:
    """A one-page Quyết định laid out as Decree 30 Annex I (the signature block left blank at
    `stamps.PLACEMENTS["quyet_dinh"]`), text in embedded Liberation Serif."""
    writer = PdfFileWriter()
    regular = stamps.TextPainter(writer, stamps.font_path(stamps.FONT_REGULAR), 13, "F1")
    bold = stamps.TextPainter(writer, stamps.font_path(stamps.FONT_BOLD), 13, "F2")
    small = stamps.TextPainter(writer, stamps.font_path(stamps.FONT_REGULAR), 11, "F3")
    ops = [b"0 0 0 rg"]

    def put(p, text, x, y, **kw):
        ops.append(p.line(text, x, y, **kw))

    put(
        small,
        organisation.replace("UBND", "Ủy ban nhân dân").upper(),
        30,
        790,
        align="center",
        width=240,
    )
    put(bold, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 270, 790, align="center", width=300)
    put(bold, "Độc lập - Tự do - Hạnh phúc", 270, 772, align="center", width=300)
    put(regular, f"Số: {number}", 40, 745, align="center", width=220)
    put(regular, "Lâm Đồng, ngày 01 tháng 3 năm 2025", 270, 745, align="center", width=300)
    put(bold, "QUYẾT ĐỊNH", 0, 700, align="center", width=595)
    put(bold, subject, 0, 682, align="center", width=595)
    put(bold, "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH LÂM ĐỒNG", 0, 656, align="center", width=595)
    lines = body or (
        "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ "
        "về công tác văn thư;",
        "Điều 1. Công bố kèm theo Quyết định này danh mục thủ tục hành chính "
        "trực tuyến toàn trình.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký. (Văn bản mẫu — DEMO, không có giá trị.)",
    )
    y = 630
    for line in lines:
        for wrapped in regular.wrap(line, 500):
            put(regular, wrapped, 60, y)
            y -= 17
    # "Nơi nhận" on the left under the text, level with the signature block on the right
    # (whose place is the placement's signer box, below the text).
    top = min(y - 20, stamps.get_placement("quyet_dinh").signer[3])
    put(bold, "Nơi nhận:", 40, top)
    for i, line in enumerate(("- Như Điều 2;", "- Văn phòng Chính phủ;", "- Lưu: VT.")):
        put(small, line, 40, top - 16 - i * 13)

    return a4_page(writer, (regular, bold, small), ops)
