"""Stored files: sniffing, limits, dedupe, integrity, and who may read (issue #2, point 9)."""

from __future__ import annotations

import hashlib
import io
import os
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections, transaction
from django.urls import reverse

from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry, StoredFile
from chinhquyenso.core.services import apikeys, files
from tests.conftest import postgresql_only
from tests.core.test_tasks import login_verified

# --- Real file bytes, written by hand -------------------------------------------------------


def make_pdf(text: str = "Giay xac nhan") -> bytes:
    """A minimal valid one-page PDF with a correct xref table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def make_png(width: int = 2, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_zip(entries: list[tuple[str, str]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(name, content)
    return buffer.getvalue()


def make_docx(content_types_first: bool = True) -> bytes:
    entries = [
        ("[Content_Types].xml", '<?xml version="1.0"?><Types/>'),
        ("_rels/.rels", "<Relationships/>"),
        ("word/document.xml", "<w:document/>"),
    ]
    if not content_types_first:
        entries.reverse()  # libmagic then only sees a zip
    return make_zip(entries)


JPEG = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\x00" * 64
    + b"\xff\xd9"
)
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><head><script>alert(1)</script></head><body>x</body></html>"


def upload(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def storage(settings, tmp_path) -> Path:
    """Stored files go to a temporary directory, never to the project's var/files."""
    location = tmp_path / "files"
    # Persona fixtures hash passwords; Argon2 makes every test take a second or more.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
        # Pages render {% static %}; without collectstatic the manifest storage cannot hash.
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    return location


def stored_paths(location: Path) -> list[Path]:
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []


# --- Storing --------------------------------------------------------------------------------


def test_pdf_is_stored_once_under_its_hash(responsible, unit_a, storage):
    pdf = make_pdf()
    stored = files.store_file(
        actor=responsible, uploaded=upload("Đơn đề nghị.pdf", pdf), purpose="attachment"
    )
    sha = hashlib.sha256(pdf).hexdigest()
    assert stored.sha256 == sha
    assert stored.size == len(pdf)
    assert stored.content_type == "application/pdf"
    assert stored.original_name == "Đơn đề nghị.pdf"
    assert stored.storage_name == f"{sha[:2]}/{sha[2:4]}/{sha}"
    assert stored.organisation == unit_a  # the uploader's unit by default
    assert (storage / sha[:2] / sha[2:4] / sha).read_bytes() == pdf
    entry = AuditEntry.objects.get(action="file.stored")
    assert entry.actor == responsible
    assert entry.data["deduplicated"] is False


def test_same_bytes_twice_give_the_same_file_and_one_copy(responsible, colleague, storage):
    pdf = make_pdf("Ban sao")
    first = files.store_file(actor=responsible, uploaded=upload("a.pdf", pdf), purpose="scan")
    second = files.store_file(actor=colleague, uploaded=pdf, name="b.pdf", purpose="attachment")
    assert second.pk == first.pk
    assert StoredFile.objects.count() == 1
    assert len(stored_paths(storage)) == 1
    assert AuditEntry.objects.filter(action="file.stored", data__deduplicated=True).count() == 1


def test_png_image_accepted(responsible):
    stored = files.store_file(
        actor=responsible, uploaded=upload("anh.png", make_png(), "image/png"), purpose="image"
    )
    assert stored.content_type == "image/png"


@pytest.mark.parametrize("content_types_first", [True, False])
def test_docx_recognised_even_when_libmagic_says_zip(responsible, content_types_first):
    stored = files.store_file(
        actor=responsible,
        uploaded=upload("to-trinh.docx", make_docx(content_types_first), "application/zip"),
        purpose="attachment",
    )
    assert stored.content_type == files.DOCX


def test_xlsx_recognised(responsible):
    xlsx = make_zip([("xl/workbook.xml", "<workbook/>"), ("[Content_Types].xml", "<Types/>")])
    stored = files.store_file(
        actor=responsible, uploaded=upload("bang.xlsx", xlsx), purpose="attachment"
    )
    assert stored.content_type == files.XLSX


def test_macro_document_rejected(responsible, storage):
    docm = make_zip(
        [
            ("[Content_Types].xml", "<Types/>"),
            ("word/document.xml", "<w/>"),
            ("word/vbaProject.bin", "macro"),
        ]
    )
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(actor=responsible, uploaded=upload("a.docx", docm), purpose="attachment")
    assert exc.value.code == "file_type_not_allowed"


@pytest.mark.parametrize(
    ("name", "content"),
    [("ho-so.pdf", ELF), ("ho-so.pdf", HTML), ("anh.png", make_pdf()), ("a.zip", make_zip([]))],
)
def test_disguised_or_wrong_type_rejected_and_nothing_stored(responsible, storage, name, content):
    purpose = "image" if name.endswith(".png") else "attachment"
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(
            actor=responsible, uploaded=upload(name, content, "application/pdf"), purpose=purpose
        )
    assert exc.value.code == "file_type_not_allowed"
    assert "Chỉ chấp nhận:" in exc.value.message
    assert "ảnh JPEG" in exc.value.message
    assert StoredFile.objects.count() == 0
    assert stored_paths(storage) == []
    assert not AuditEntry.objects.filter(action="file.stored").exists()


def test_oversize_rejected_with_limit_in_megabytes(responsible, settings, storage):
    settings.FILES_MAX_UPLOAD_BYTES = 1024 * 1024
    big = make_pdf() + b"%" + b"x" * (1024 * 1024)
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(actor=responsible, uploaded=upload("lon.pdf", big), purpose="attachment")
    assert exc.value.code == "file_too_large"
    assert "tối đa 1 MB" in exc.value.message
    assert StoredFile.objects.count() == 0
    assert stored_paths(storage) == []


def test_oversize_detected_while_streaming_even_if_size_lies(responsible, storage):
    files.register_purpose("tiny", {files.PDF}, 2 * 1024 * 1024 + 512 * 1024, "Thử nghiệm")
    big = upload("lon.pdf", make_pdf() + b"x" * (3 * 1024 * 1024))
    big.size = 10  # what a client claimed
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(actor=responsible, uploaded=big, purpose="tiny")
    assert exc.value.code == "file_too_large"
    assert "tối đa 2,5 MB" in exc.value.message
    assert stored_paths(storage) == []


def test_unknown_purpose_and_empty_file(responsible):
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(actor=responsible, uploaded=make_pdf(), name="a.pdf", purpose="khac")
    assert exc.value.code == "unknown_file_purpose"
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(actor=responsible, uploaded=b"", name="a.pdf", purpose="attachment")
    assert exc.value.code == "file_empty"


def test_upload_permissions(anonymous, citizen, other_commune_official, unit_a):
    with pytest.raises(PermissionDenied):
        files.store_file(actor=anonymous, uploaded=make_pdf(), name="a.pdf", purpose="attachment")
    # An official may not file a document into another commune's unit.
    with pytest.raises(PermissionDenied):
        files.store_file(
            actor=other_commune_official,
            uploaded=make_pdf(),
            name="a.pdf",
            purpose="attachment",
            organisation=unit_a,
        )
    # A citizen uploads their own file, owned by no organisation.
    stored = files.store_file(actor=citizen, uploaded=make_pdf(), name="a.pdf", purpose="scan")
    assert stored.organisation is None and stored.created_by == citizen
    with pytest.raises(PermissionDenied):
        files.store_file(
            actor=citizen, uploaded=make_pdf("x"), name="b.pdf", purpose="scan", organisation=unit_a
        )


# --- A name that contradicts the content (file_name_mismatch) -------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "chung-sinh.pdf",
            make_png(),
            "Tệp “chung-sinh.pdf” có nội dung là ảnh PNG, không phải PDF. Vui lòng chọn đúng tệp.",
        ),
        (
            "anh-the.JPG",
            make_png(),
            "Tệp “anh-the.JPG” có nội dung là ảnh PNG, không phải ảnh JPEG. "
            "Vui lòng chọn đúng tệp.",
        ),
        (
            "to-khai.docx",
            make_pdf(),
            "Tệp “to-khai.docx” có nội dung là PDF, không phải văn bản Word (DOCX). "
            "Vui lòng chọn đúng tệp.",
        ),
    ],
    ids=["png-as-pdf", "png-as-jpg", "pdf-as-docx"],
)
def test_a_name_that_contradicts_the_content_is_refused(
    responsible, storage, name, content, message
):
    with pytest.raises(ValidationFailed) as exc:
        files.store_file(
            actor=responsible, uploaded=upload(name, content, "application/pdf"), purpose="scan"
        )
    assert exc.value.code == "file_name_mismatch"
    assert exc.value.message == message
    assert StoredFile.objects.count() == 0
    assert stored_paths(storage) == []


ACCEPTED_NAMES = [
    ("anh.jpg", JPEG, files.JPEG),
    ("anh.jpeg", JPEG, files.JPEG),
    ("ANH.JFIF", JPEG, files.JPEG),
    ("ban-quet.tif", TIFF, files.TIFF),
    ("ban-quet.tiff", TIFF, files.TIFF),
    ("Ban quet.PDF", make_pdf(), files.PDF),
    ("ban-quet", make_pdf(), files.PDF),  # no extension: nothing promised
    ("ban-quet.scan", make_png(), files.PNG),  # an extension we do not know
]


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    ACCEPTED_NAMES,
    ids=[name for name, _, _ in ACCEPTED_NAMES],
)
def test_equivalent_or_unknown_extensions_are_accepted(responsible, name, content, content_type):
    stored = files.store_file(actor=responsible, uploaded=upload(name, content), purpose="scan")
    assert stored.content_type == content_type
    assert stored.original_name == name


def test_attachments_keep_the_name_they_were_sent_with(responsible):
    """Attachments also come from other systems, named by the sender: not compared."""
    xml = b'<?xml version="1.0" encoding="UTF-8"?><ho-so/>\n'
    stored = files.store_file(
        actor=responsible, uploaded=upload("giay-to.pdf", xml), purpose="attachment"
    )
    assert stored.content_type == files.XML


# --- Bytes of uploads whose transaction failed ----------------------------------------------


class Refused(Exception):
    """What a service raises after the page stored the files."""


def content_path(storage: Path, content: bytes) -> Path:
    sha = hashlib.sha256(content).hexdigest()
    return storage / sha[:2] / sha[2:4] / sha


def test_bytes_stored_in_a_failed_block_are_removed(responsible, storage):
    pdf = make_pdf("Bi tu choi")
    with pytest.raises(Refused), files.discard_on_failure():
        files.store_file(actor=responsible, uploaded=upload("don.pdf", pdf), purpose="scan")
        assert content_path(storage, pdf).read_bytes() == pdf
        raise Refused
    assert StoredFile.objects.count() == 0
    assert stored_paths(storage) == []


def test_bytes_stored_in_a_successful_block_stay(responsible, storage):
    pdf = make_pdf("Duoc nhan")
    with files.discard_on_failure():
        stored = files.store_file(actor=responsible, uploaded=pdf, name="a.pdf", purpose="scan")
    assert files.read_verified(actor=responsible, stored_file=stored) == pdf
    assert stored_paths(storage) == [content_path(storage, pdf)]


def test_a_nested_block_hands_its_bytes_to_the_enclosing_one(responsible, storage):
    with pytest.raises(Refused), files.discard_on_failure():
        with files.discard_on_failure():
            files.store_file(actor=responsible, uploaded=make_pdf(), name="a.pdf", purpose="scan")
        raise Refused
    assert stored_paths(storage) == []


def test_bytes_a_stored_file_uses_are_never_removed(responsible, colleague, storage):
    pdf = make_pdf("Da luu")
    kept = files.store_file(actor=responsible, uploaded=pdf, name="a.pdf", purpose="scan")
    with pytest.raises(Refused), files.discard_on_failure():
        again = files.store_file(actor=colleague, uploaded=pdf, name="b.pdf", purpose="scan")
        assert again.pk == kept.pk
        raise Refused
    assert files.discard_if_unreferenced(kept.storage_name, kept.sha256) is False
    assert files.read_verified(actor=responsible, stored_file=kept) == pdf


def _age(path: Path, hours: float) -> None:
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_prune_removes_old_bytes_no_file_uses_and_nothing_else(responsible, storage, capsys):
    kept_pdf, orphan_pdf = make_pdf("Giu lai"), make_pdf("Mo coi")
    kept = files.store_file(actor=responsible, uploaded=kept_pdf, name="a.pdf", purpose="scan")
    # A plain atomic() that rolls back: the bytes stay for the safety net.
    with pytest.raises(Refused), transaction.atomic():
        files.store_file(actor=responsible, uploaded=orphan_pdf, name="b.pdf", purpose="scan")
        raise Refused
    orphan = content_path(storage, orphan_pdf)
    foreign = storage / "ghi-chu.txt"  # not a content address: never ours to remove
    foreign.write_text("khác")
    call_command("files_prune")
    assert orphan.exists()  # written just now: an upload may still be in progress
    for path in (orphan, content_path(storage, kept_pdf), foreign):
        _age(path, 2)
    call_command("files_prune", "--older-than-hours", "1", "--dry-run")
    assert orphan.exists()
    assert "Sẽ xóa 1 nội dung không còn dùng; 2 nội dung đã kiểm tra." in capsys.readouterr().out
    call_command("files_prune", "--older-than-hours", "1")
    out = capsys.readouterr().out
    assert kept.storage_name not in out and "Đã xóa 1 nội dung không còn dùng" in out
    assert not orphan.exists()
    assert foreign.exists()
    assert files.read_verified(actor=responsible, stored_file=kept) == kept_pdf


def _store_in_thread(actor, content: bytes, stored: threading.Event, hold: float, errors: list):
    """Another request: stores `content` and commits `hold` seconds later."""

    def run():
        try:
            with transaction.atomic():
                files.store_file(actor=actor, uploaded=content, name="khac.pdf", purpose="scan")
                stored.set()
                time.sleep(hold)
        except Exception as exc:  # noqa: BLE001  (asserted on)
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_removal_waits_for_an_upload_of_the_same_content_in_progress(
    responsible, colleague, storage
):
    """The bytes are there, the row that uses them is not committed yet: they stay."""
    postgresql_only("two connections, one holding the content lock (SQLite has one writer)")
    pdf = make_pdf("Dang tai len")
    stored, errors = threading.Event(), []
    thread = _store_in_thread(colleague, pdf, stored, 1.0, errors)
    sha = hashlib.sha256(pdf).hexdigest()
    try:
        assert stored.wait(10)
        removed = files.discard_if_unreferenced(files.storage_name_for(sha), sha)
    finally:
        thread.join(10)
    assert removed is False
    assert errors == []
    stored_file = StoredFile.objects.get(sha256=sha)
    assert files.read_verified(actor=colleague, stored_file=stored_file) == pdf


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_upload_never_removes_what_a_concurrent_one_commits(
    responsible, colleague, storage
):
    """A refused request wrote the bytes first; a concurrent request stores the same content
    (finding the bytes there) and commits after the refused one cleaned up: its file is whole."""
    postgresql_only("two connections, one holding the content lock (SQLite has one writer)")
    pdf = make_pdf("Cung luc")
    stored, errors = threading.Event(), []
    thread = None
    try:
        with pytest.raises(Refused), files.discard_on_failure():
            files.store_file(actor=responsible, uploaded=pdf, name="a.pdf", purpose="scan")
            thread = _store_in_thread(colleague, pdf, stored, 1.0, errors)
            time.sleep(0.5)  # the other request now waits for our content (lock, unique index)
            raise Refused
    finally:
        if thread is not None:
            thread.join(10)
    assert errors == []
    stored_file = StoredFile.objects.get(sha256=hashlib.sha256(pdf).hexdigest())
    assert stored_file.created_by == colleague
    assert files.read_verified(actor=colleague, stored_file=stored_file) == pdf


# --- Reading and integrity ------------------------------------------------------------------


@pytest.fixture
def stored_pdf(responsible):
    return files.store_file(
        actor=responsible, uploaded=upload("Quyết định.pdf", make_pdf()), purpose="attachment"
    )


def test_read_rules(
    stored_pdf,
    responsible,
    colleague,
    commune_admin,
    other_commune_official,
    citizen,
    anonymous,
    superuser,
):
    for allowed in (responsible, colleague, commune_admin, superuser):
        assert files.read_verified(actor=allowed, stored_file=stored_pdf) == make_pdf()
    for forbidden in (other_commune_official, citizen, anonymous):
        with pytest.raises(NotFound) as exc:
            files.get_file_for(actor=forbidden, file_id=stored_pdf.pk)
        assert exc.value.code == "file_not_found"
        with pytest.raises(NotFound):
            files.open_verified(actor=forbidden, stored_file=stored_pdf)


def test_later_uploader_of_same_bytes_may_read(stored_pdf, other_commune_official):
    again = files.store_file(
        actor=other_commune_official, uploaded=make_pdf(), name="x.pdf", purpose="attachment"
    )
    assert again.pk == stored_pdf.pk
    assert files.get_file_for(actor=other_commune_official, file_id=stored_pdf.pk) == stored_pdf


def tamper(stored: StoredFile, content: bytes = b"%PDF-1.4 gia mao") -> None:
    Path(default_storage.path(stored.storage_name)).write_bytes(content)


def test_tampered_file_is_never_served(stored_pdf, responsible):
    tamper(stored_pdf)
    with pytest.raises(Conflict) as exc:
        files.open_verified(actor=responsible, stored_file=stored_pdf)
    assert exc.value.code == "file_integrity_failed"
    # No one is messaged: the message says where the failure went (the audit log), truthfully.
    assert exc.value.message.endswith(
        "Lỗi đã được ghi vào nhật ký để quản trị hệ thống khôi phục tệp từ bản sao lưu."
    )
    stored_pdf.refresh_from_db()
    assert stored_pdf.integrity_failed_at is not None
    entry = AuditEntry.objects.get(action="file.integrity_failed")
    assert entry.object_id == str(stored_pdf.pk)
    assert entry.actor == responsible
    # A second read is refused too, without a second audit entry.
    with pytest.raises(Conflict):
        files.read_verified(actor=responsible, stored_file=stored_pdf)
    assert AuditEntry.objects.filter(action="file.integrity_failed").count() == 1


def test_missing_file_is_an_integrity_failure(stored_pdf, responsible):
    default_storage.delete(stored_pdf.storage_name)
    with pytest.raises(Conflict):
        files.open_verified(actor=responsible, stored_file=stored_pdf)
    stored_pdf.refresh_from_db()
    assert stored_pdf.integrity_failed_at is not None


def test_uploading_the_good_bytes_again_repairs_a_broken_file(stored_pdf, responsible):
    tamper(stored_pdf)
    with pytest.raises(Conflict):
        files.open_verified(actor=responsible, stored_file=stored_pdf)
    again = files.store_file(
        actor=responsible, uploaded=make_pdf(), name="lai.pdf", purpose="attachment"
    )
    assert again.pk == stored_pdf.pk
    again.refresh_from_db()
    assert again.integrity_failed_at is None
    assert files.read_verified(actor=responsible, stored_file=again) == make_pdf()
    assert AuditEntry.objects.filter(action="file.repaired").count() == 1


def test_verify_command_lists_broken_files_and_exits_1(stored_pdf, responsible, capsys):
    good = files.store_file(actor=responsible, uploaded=make_png(), name="a.png", purpose="image")
    call_command("files", "verify")
    assert "2 tệp đã kiểm tra" in capsys.readouterr().out
    tamper(stored_pdf)
    with pytest.raises(SystemExit) as exc:
        call_command("files", "verify")
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert f"#{stored_pdf.pk}" in out and f"#{good.pk}" not in out
    stored_pdf.refresh_from_db()
    assert stored_pdf.integrity_failed_at is not None


# --- API ------------------------------------------------------------------------------------


def test_api_upload_allowed_for_official(client, responsible):
    client.force_login(responsible)
    pdf = make_pdf()
    response = client.post(
        "/api/v1/files", {"file": upload("Tờ khai.pdf", pdf), "purpose": "attachment"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert body["content_type"] == "application/pdf"
    assert body["original_name"] == "Tờ khai.pdf"
    assert set(body) == {"id", "sha256", "size", "content_type", "original_name"}


def test_api_upload_rejections(client, responsible, anonymous):
    response = client.post("/api/v1/files", {"file": upload("a.pdf", make_pdf())})
    assert response.status_code == 401
    client.force_login(responsible)
    response = client.post("/api/v1/files", {"file": upload("a.pdf", HTML), "purpose": "scan"})
    assert response.status_code == 400
    assert response.json()["code"] == "file_type_not_allowed"
    assert StoredFile.objects.count() == 0


def test_api_upload_outside_scope_forbidden(client, other_commune_official, unit_a):
    client.force_login(other_commune_official)
    response = client.post(
        "/api/v1/files",
        {
            "file": upload("a.pdf", make_pdf()),
            "purpose": "attachment",
            "organisation_id": unit_a.pk,
        },
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_api_upload_with_key_needs_files_write(client, commune_admin, commune_a, unit_a):
    _, secret = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Hệ thống một cửa", scopes=["files:write"]
    )
    response = client.post(
        "/api/v1/files",
        {"file": upload("a.pdf", make_pdf()), "purpose": "attachment"},
        headers={"X-API-Key": secret},
    )
    assert response.status_code == 201, response.content
    assert StoredFile.objects.get().organisation == commune_a
    _, reader = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Chỉ đọc", scopes=["calendar:read"]
    )
    response = client.post(
        "/api/v1/files",
        {"file": upload("b.pdf", make_pdf("b")), "purpose": "attachment"},
        headers={"X-API-Key": reader},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


def test_api_metadata_and_content_for_allowed(client, stored_pdf, colleague):
    client.force_login(colleague)
    response = client.get(f"/api/v1/files/{stored_pdf.pk}")
    assert response.status_code == 200
    assert response.json()["sha256"] == stored_pdf.sha256
    assert response.json()["integrity_failed"] is False
    response = client.get(f"/api/v1/files/{stored_pdf.pk}/content")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == make_pdf()
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert (
        "filename*=utf-8''Quy%E1%BA%BFt%20%C4%91%E1%BB%8Bnh.pdf" in response["Content-Disposition"]
    )


def test_api_superuser_reads_any_file(client, stored_pdf, superuser):
    login_verified(client, superuser)
    assert client.get(f"/api/v1/files/{stored_pdf.pk}/content").status_code == 200


@pytest.mark.parametrize("persona", ["other_commune_official", "citizen"])
def test_api_forbidden_personas_get_404(client, stored_pdf, persona, request):
    client.force_login(request.getfixturevalue(persona))
    for url in (f"/api/v1/files/{stored_pdf.pk}", f"/api/v1/files/{stored_pdf.pk}/content"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "file_not_found"
    assert client.get("/api/v1/files/999999").json()["code"] == "file_not_found"


def test_api_anonymous_gets_401(client, stored_pdf):
    assert client.get(f"/api/v1/files/{stored_pdf.pk}").status_code == 401


def test_api_key_reads_only_with_files_read_in_its_subtree(
    client, stored_pdf, commune_admin, commune_a, commune_b
):
    key, secret = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Đọc tệp", scopes=["files:write"]
    )
    url = f"/api/v1/files/{stored_pdf.pk}"
    assert client.get(url, headers={"X-API-Key": secret}).status_code == 404
    key.scopes = ["files:read"]  # a scope to add to apikeys.KNOWN_SCOPES
    key.save(update_fields=["scopes"])
    assert client.get(url, headers={"X-API-Key": secret}).status_code == 200
    key.organisation = commune_b
    key.save(update_fields=["organisation"])
    assert client.get(url, headers={"X-API-Key": secret}).status_code == 404


def test_api_tampered_content_is_409(client, stored_pdf, responsible):
    tamper(stored_pdf)
    client.force_login(responsible)
    response = client.get(f"/api/v1/files/{stored_pdf.pk}/content")
    assert response.status_code == 409
    assert response.json()["code"] == "file_integrity_failed"
    assert b"gia mao" not in response.content
    assert AuditEntry.objects.filter(action="file.integrity_failed").exists()
    assert client.get(f"/api/v1/files/{stored_pdf.pk}").json()["integrity_failed"] is True


# --- Page -----------------------------------------------------------------------------------


def test_download_page_allowed(client, stored_pdf, responsible):
    client.force_login(responsible)
    response = client.get(reverse("core:file_download", args=[stored_pdf.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == make_pdf()


def test_download_page_forbidden_and_anonymous(client, stored_pdf, other_commune_official):
    url = reverse("core:file_download", args=[stored_pdf.pk])
    response = client.get(url)
    assert response.status_code == 302 and reverse("core:login") in response["Location"]
    client.force_login(other_commune_official)
    response = client.get(url)
    assert response.status_code == 404
    assert "Không tìm thấy" in response.content.decode()


def test_download_page_integrity_failure_shows_vietnamese_error(client, stored_pdf, responsible):
    tamper(stored_pdf)
    client.force_login(responsible)
    response = client.get(reverse("core:file_download", args=[stored_pdf.pk]))
    assert response.status_code == 409
    text = response.content.decode()
    assert "không được cung cấp" in text
    assert "gia mao" not in text


def test_api_key_upload_works_with_csrf_enforced(commune_admin, commune_a, responsible):
    """Another system posts with its key and no browser cookies: CSRF must not stand in the way,
    while a browser session without the CSRF token is still refused."""
    from django.test import Client

    from chinhquyenso.core.services import apikeys

    _, key = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Hệ thống số hóa", scopes=["files:write"]
    )
    system = Client(enforce_csrf_checks=True)
    response = system.post(
        "/api/v1/files",
        {"file": upload("Bản quét.pdf", make_pdf()), "purpose": "scan"},
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 201, response.content
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(responsible)
    refused = browser.post(
        "/api/v1/files", {"file": upload("x.pdf", make_pdf("khac")), "purpose": "scan"}
    )
    assert refused.status_code == 403
