"""Small PDFs made with pyHanko's writer (fast, no fonts to embed): `make_pdf(pages)`."""

from __future__ import annotations

from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

A4 = (0, 0, 595, 842)


def make_pdf(pages: int = 1, title: str = "Cong van so 01/UBND") -> bytes:
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject(
                {generic.NameObject("/F1"): writer.add_object(font)}
            )
        }
    )
    for number in range(1, pages + 1):
        lines = [f"BT /F1 14 Tf 72 780 Td ({title} - trang {number}) Tj ET"]
        for row in range(40):
            lines.append(
                f"BT /F1 10 Tf 72 {740 - row * 16} Td "
                f"(Dong {row + 1}: noi dung van ban thu nghiem cho chu ky so.) Tj ET"
            )
        stream = generic.StreamObject(stream_data="\n".join(lines).encode("ascii"))
        page = PageObject(contents=writer.add_object(stream), media_box=A4, resources=resources)
        writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
