"""Stored files: each distinct content once, named by its SHA-256 (issue #2, point 9).

- The type is sniffed from the bytes with libmagic (python-magic), never taken from the file
  name or the client's Content-Type. OOXML (.docx/.xlsx) and ODF files are zip archives; libmagic
  does not always recognise them, so zips are opened and classified by their entries.
- What may be uploaded is decided per *purpose* (`register_purpose`): allowed types and a size
  limit, never above `settings.FILES_MAX_UPLOAD_BYTES`.
- Uploads are streamed in chunks to a temporary file while hashing, so a 25 MB file is never held
  in memory, then stored once at `ab/cd/<sha256>` through Django's default storage. The same
  bytes uploaded twice give the same `StoredFile` and no second copy.
- Reads (`open_verified`) re-hash the bytes and never return content that no longer matches
  its SHA-256; a mismatch flags the file (`integrity_failed_at`) and writes an audit entry.
- The bytes are written before the row commits; bytes left by a transaction that rolled back
  are removed again without ever touching bytes in use (`file_blobs.py`: the per-content lock,
  `discard_on_failure`, `cqs files_prune`).
- A name whose extension says another type than the content (a PNG named .pdf) is refused for
  purposes whose files people choose (scans, images): `file_name_mismatch`.

Who may read a file: its uploader (anyone whose upload of the same bytes is in the audit trail),
officials with "file.view" on the file's organisation subtree, superusers, and API keys with
the "files:read" scope whose organisation subtree contains the file. Everybody else is told the
file does not exist (`file_not_found`), so ids do not leak.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO

import magic
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import ApiKey, Organisation, StoredFile
from chinhquyenso.core.services import audit

# The bytes in storage: names, the per-content lock, cleanup after a rollback (re-exported: the
# file service is this module).
from chinhquyenso.core.services.file_blobs import (  # noqa: F401  (re-exported)
    PruneResult,
    _lock_content,
    _note_written,
    discard_if_unreferenced,
    discard_on_failure,
    prune_unreferenced,
    storage_name_for,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024
# libmagic looks at the beginning of the content only; 64 KiB covers every type we accept.
SNIFF_BYTES = 64 * 1024

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
ODS = "application/vnd.oasis.opendocument.spreadsheet"
XML = "application/xml"
ZIP = "application/zip"
OCTET_STREAM = "application/octet-stream"
# Office documents carrying VBA macros are reported as this type and are never accepted.
MACRO_DOCUMENT = "application/vnd.ms-office.macro-enabled"

# What people read in messages; the order is the order they are listed in.
TYPE_LABELS: dict[str, str] = {
    PDF: "PDF",
    JPEG: "ảnh JPEG",
    PNG: "ảnh PNG",
    TIFF: "ảnh TIFF",
    DOCX: "văn bản Word (DOCX)",
    XLSX: "bảng tính Excel (XLSX)",
    PPTX: "trình chiếu PowerPoint (PPTX)",
    ODT: "văn bản OpenDocument (ODT)",
    ODS: "bảng tính OpenDocument (ODS)",
    XML: "dữ liệu XML",
}

# libmagic spellings that mean one of our canonical types.
_ALIASES = {
    "text/xml": XML,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
}
# Results that mean "a zip archive, look inside".
_ZIP_LIKE = {ZIP, "application/x-zip-compressed", DOCX, XLSX, PPTX, ODT, ODS}
_ODF_TYPES = {ODT, ODS, "application/vnd.oasis.opendocument.presentation"}
# The type a file name's extension promises (equivalent spellings included). Names with another
# extension, or none, promise nothing and are not compared with the content.
_EXTENSION_TYPES: dict[str, str] = {
    "pdf": PDF,
    "jpg": JPEG,
    "jpeg": JPEG,
    "jpe": JPEG,
    "jfif": JPEG,
    "png": PNG,
    "tif": TIFF,
    "tiff": TIFF,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
    "odt": ODT,
    "ods": ODS,
    "xml": XML,
}

FILE_NOT_FOUND = "Không tìm thấy tệp."
# Nobody is sent a message: the failure is in the audit log ("file.integrity_failed") and the
# server log, where the administrators look. Say so, and promise no more than that.
INTEGRITY_MESSAGE = (
    "Tệp đã bị thay đổi hoặc hư hỏng trên kho lưu trữ (mã băm SHA-256 không khớp), nên không "
    "được cung cấp. Lỗi đã được ghi vào nhật ký để quản trị hệ thống khôi phục tệp từ bản sao "
    "lưu."
)


# --- Purposes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purpose:
    """What an upload is for: which types it accepts and how large it may be."""

    name: str
    allowed_types: frozenset[str]
    # None: the platform-wide limit settings.FILES_MAX_UPLOAD_BYTES.
    max_bytes: int | None
    label_vi: str
    # Refuse a name whose extension says another type than the content (`file_name_mismatch`).
    names_must_match: bool = True

    @property
    def limit(self) -> int:
        """The effective limit: never above the platform-wide FILES_MAX_UPLOAD_BYTES."""
        ceiling = settings.FILES_MAX_UPLOAD_BYTES
        return ceiling if self.max_bytes is None else min(self.max_bytes, ceiling)

    def allowed_labels(self) -> str:
        ordered = [TYPE_LABELS[t] for t in TYPE_LABELS if t in self.allowed_types]
        ordered += sorted(t for t in self.allowed_types if t not in TYPE_LABELS)
        return ", ".join(ordered)


_PURPOSES: dict[str, Purpose] = {}


def register_purpose(
    name: str,
    allowed_types: Iterable[str],
    max_bytes: int | None,
    label_vi: str,
    *,
    names_must_match: bool = True,
) -> Purpose:
    """Declare an upload purpose. Modules call this at import time; re-registering replaces."""
    if max_bytes is not None and max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    purpose = Purpose(name, frozenset(allowed_types), max_bytes, label_vi, names_must_match)
    _PURPOSES[name] = purpose
    return purpose


def get_purpose(name: str) -> Purpose:
    try:
        return _PURPOSES[name]
    except KeyError:
        raise ValidationFailed(
            f"Mục đích tải tệp không hợp lệ: {name}.", code="unknown_file_purpose"
        ) from None


def purposes() -> dict[str, Purpose]:
    return dict(_PURPOSES)


register_purpose(
    "attachment",
    {PDF, JPEG, PNG, DOCX, XLSX, ODT, XML},
    None,  # settings.FILES_MAX_UPLOAD_BYTES, 25 MB by default
    "Tệp đính kèm",
    # Attachments also come from other systems (the API, document exchange), named by the
    # sender: a document another agency sent is kept under the name it was sent with.
    names_must_match=False,
)
register_purpose("scan", {PDF, JPEG, PNG, TIFF}, None, "Bản chụp, bản quét giấy tờ")
register_purpose("image", {JPEG, PNG}, 10 * 1024 * 1024, "Hình ảnh")


# --- Sniffing -------------------------------------------------------------------------------


def format_megabytes(size: int) -> str:
    """25 MB, 2,5 MB (Vietnamese decimal comma); limits under 0,1 MB are given in KB."""
    if size < 1024 * 1024 // 10:
        return f"{max(1, round(size / 1024))} KB"
    text = f"{size / (1024 * 1024):.2f}".rstrip("0").rstrip(".")
    return f"{text.replace('.', ',')} MB"


def _classify_zip(fileobj: IO[bytes]) -> str:
    """The type of a zip archive from its entries (libmagic alone cannot tell docx from zip)."""
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = archive.namelist()
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return MACRO_DOCUMENT
            if "[Content_Types].xml" in names:
                if any(n.startswith("word/") for n in names):
                    return DOCX
                if any(n.startswith("xl/") for n in names):
                    return XLSX
                if any(n.startswith("ppt/") for n in names):
                    return PPTX
            if "mimetype" in names and archive.getinfo("mimetype").file_size <= 100:
                declared = archive.read("mimetype").decode("ascii", "replace").strip()
                if declared in _ODF_TYPES:
                    return declared
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return OCTET_STREAM
    return ZIP


def sniff_content_type(fileobj: IO[bytes]) -> str:
    """The canonical MIME type of the content of `fileobj` (read from its start)."""
    fileobj.seek(0)
    head = fileobj.read(SNIFF_BYTES)
    sniffed = magic.from_buffer(head, mime=True) if head else "application/x-empty"
    sniffed = _ALIASES.get(sniffed, sniffed)
    if sniffed in _ZIP_LIKE:
        sniffed = _classify_zip(fileobj)
    fileobj.seek(0)
    return sniffed


# --- Storing --------------------------------------------------------------------------------


def _as_file(uploaded, name: str | None) -> tuple[File, str]:
    if isinstance(uploaded, bytes | bytearray | memoryview):
        return ContentFile(bytes(uploaded), name=name or "tep"), name or "tep"
    if isinstance(uploaded, File):
        return uploaded, name or uploaded.name or "tep"
    raise TypeError("uploaded must be a django File (UploadedFile) or bytes")


def _clean_name(name: str) -> str:
    """The base name a person gave the file, without any path, at most 255 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    if not base:
        base = "tep"
    if len(base) > 255:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) < 20 else base[:255]
    return base


def _too_large(purpose: Purpose) -> ValidationFailed:
    return ValidationFailed(
        f"Tệp vượt quá dung lượng cho phép (tối đa {format_megabytes(purpose.limit)}).",
        code="file_too_large",
        details={"max_bytes": purpose.limit},
    )


def _check_name(original: str, content_type: str) -> None:
    """Refuse a name whose extension promises another type than the content has: stored as
    it is, the file would be downloaded as "x.pdf" with the content of a PNG."""
    _stem, dot, extension = original.rpartition(".")
    expected = _EXTENSION_TYPES.get(extension.lower()) if dot else None
    if expected is None or expected == content_type:
        return
    found = TYPE_LABELS.get(content_type, content_type)
    raise ValidationFailed(
        f"Tệp “{original}” có nội dung là {found}, không phải {TYPE_LABELS[expected]}. "
        "Vui lòng chọn đúng tệp.",
        code="file_name_mismatch",
        details={"name": original, "detected": content_type, "expected": expected},
    )


def _spool(source: File, purpose: Purpose, tmp: IO[bytes]) -> tuple[str, int]:
    """Copy `source` to `tmp` in chunks while hashing; stop as soon as it passes the limit."""
    digest = hashlib.sha256()
    size = 0
    for chunk in source.chunks(CHUNK_SIZE):  # File.chunks() starts from the beginning
        size += len(chunk)
        if size > purpose.limit:
            raise _too_large(purpose)
        digest.update(chunk)
        tmp.write(chunk)
    tmp.flush()
    return digest.hexdigest(), size


def _hash_stored(name: str) -> str | None:
    """SHA-256 of what the storage holds under `name`, or None when it is missing."""
    digest = hashlib.sha256()
    try:
        with default_storage.open(name, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
                digest.update(chunk)
    except (FileNotFoundError, OSError):
        return None
    return digest.hexdigest()


def _write_blob(name: str, sha256: str, tmp: IO[bytes]) -> None:
    """Put the verified bytes in `tmp` at `name`, unless identical bytes are already there.

    Names are content addresses, so bytes already present under the name (an earlier upload
    whose transaction rolled back, or a concurrent upload) are kept if they hash right.
    Precondition: the caller holds `_lock_content(sha256)`. Bytes written here are noted for
    `discard_on_failure`.
    """
    if default_storage.exists(name):
        if _hash_stored(name) == sha256:
            return
        default_storage.delete(name)  # damaged leftover: replace with the good bytes
    tmp.seek(0)
    saved = default_storage.save(name, File(tmp, name=name))
    if saved != name:
        # A concurrent writer created `name` between exists() and save(): same bytes by
        # construction, so drop our duplicate.
        default_storage.delete(saved)
    _note_written(name, sha256)


def _audit_actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else (str(actor) if actor else None)


def _upload_organisation(actor, organisation: Organisation | None) -> Organisation | None:
    """Check that `actor` may upload into `organisation`; return the organisation to record."""
    if isinstance(actor, ApiKey):
        if "files:write" not in (actor.scopes or []):
            raise PermissionDenied(
                "Khóa API không có phạm vi cho thao tác này.", code="scope_missing"
            )
        organisation = organisation or actor.organisation
        if not organisation.path.startswith(actor.organisation.path):
            raise PermissionDenied("Đối tượng nằm ngoài phạm vi cơ quan của khóa API.")
        return organisation
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied("Cần đăng nhập để tải tệp lên.", code="not_authenticated")
    if organisation is None and getattr(actor, "is_applicant", False):
        return None  # a citizen's or business's own file, readable by them (and by services)
    if organisation is None and not actor.is_superuser:
        roles = permissions.roles_for("file.upload")
        organisation = next(
            (p.organisation for p in permissions.active_positions(actor) if p.role in roles),
            None,
        )
    permissions.require(actor, "file.upload", organisation)
    return organisation


@discard_on_failure()
def store_file(
    *,
    actor,
    uploaded,
    purpose: str,
    organisation: Organisation | None = None,
    name: str | None = None,
) -> StoredFile:
    """Store `uploaded` (an UploadedFile / django File, or bytes with `name`) once.

    `organisation` owns the file for reading ("file.view" on its subtree); for an official it
    defaults to the organisation of their first position allowed to upload, for an API key to
    the key's organisation, for a citizen it stays empty (only they and services read it).
    Raises ValidationFailed `file_too_large` / `file_type_not_allowed` / `file_empty` /
    `file_name_mismatch` and stores nothing in that case. The same bytes uploaded again return
    the existing row. Bytes written are removed again if the transaction fails (within
    `discard_on_failure`; otherwise by `cqs files_prune`).
    """
    spec = get_purpose(purpose)
    organisation = _upload_organisation(actor, organisation)
    source, original = _as_file(uploaded, name)
    original = _clean_name(original)
    declared_size = getattr(source, "size", None)
    if isinstance(declared_size, int) and declared_size > spec.limit:
        raise _too_large(spec)

    with tempfile.TemporaryFile(prefix="cqs-upload-") as tmp:
        sha256, size = _spool(source, spec, tmp)
        if size == 0:
            raise ValidationFailed("Tệp rỗng (0 byte).", code="file_empty")
        content_type = sniff_content_type(tmp)
        if content_type not in spec.allowed_types:
            raise ValidationFailed(
                "Kiểu tệp không được phép cho mục đích "
                f"“{spec.label_vi}”. Chỉ chấp nhận: {spec.allowed_labels()}.",
                code="file_type_not_allowed",
                details={"detected": content_type, "allowed": sorted(spec.allowed_types)},
            )
        if spec.names_must_match:
            _check_name(original, content_type)

        storage_name = storage_name_for(sha256)
        # Held until the transaction ends, so nobody removes the bytes this row will use.
        _lock_content(sha256)
        existing = StoredFile.objects.select_for_update().filter(sha256=sha256).first()
        repaired = False
        if existing is None or existing.integrity_failed_at is not None:
            _write_blob(storage_name if existing is None else existing.storage_name, sha256, tmp)
            repaired = existing is not None

    if existing is None:
        stored = StoredFile(
            sha256=sha256,
            size=size,
            content_type=content_type,
            original_name=original,
            storage_name=storage_name,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            organisation=organisation,
        )
        try:
            with transaction.atomic():
                stored.save(force_insert=True)
        except IntegrityError:
            # A concurrent upload of the same bytes won the insert; theirs is ours.
            stored = StoredFile.objects.get(sha256=sha256)
            existing = stored
    else:
        stored = existing
    if repaired:
        stored.integrity_failed_at = None
        stored.save(update_fields=["integrity_failed_at"])
        audit.record(
            action="file.repaired",
            actor=_audit_actor(actor),
            obj=stored,
            organisation=stored.organisation,
            data={"sha256": sha256},
        )
    audit.record(
        action="file.stored",
        actor=_audit_actor(actor),
        obj=stored,
        organisation=organisation,
        data={
            "sha256": sha256,
            "size": size,
            "content_type": content_type,
            "original_name": original,
            "purpose": purpose,
            "deduplicated": existing is not None,
        },
    )
    return stored


# --- Reading --------------------------------------------------------------------------------


def _uploaded_by(user, stored_file: StoredFile) -> bool:
    if stored_file.created_by_id is not None and stored_file.created_by_id == user.pk:
        return True
    # Deduplicated uploads keep the first uploader on the row; later uploaders of the same
    # bytes are in the audit trail (they already hold the content).
    from chinhquyenso.core.models import AuditEntry

    return AuditEntry.objects.filter(
        object_type=StoredFile._meta.label_lower,
        object_id=str(stored_file.pk),
        action="file.stored",
        actor=user,
    ).exists()


# Other modules say who else may read a file they reference (e.g. everyone who may see a
# dossier may read its scans and result). A rule is (user, stored_file) -> bool.
_READ_RULES: list = []


def register_read_rule(rule) -> None:
    if rule not in _READ_RULES:
        _READ_RULES.append(rule)


def can_read(actor, stored_file: StoredFile) -> bool:
    """Whether `actor` may read `stored_file` (see the module docstring)."""
    if isinstance(actor, ApiKey):
        org = stored_file.organisation
        return (
            "files:read" in (actor.scopes or [])
            and org is not None
            and org.path.startswith(actor.organisation.path)
        )
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    if actor.is_superuser or permissions.can(actor, "file.view", stored_file):
        return True
    if any(rule(actor, stored_file) for rule in _READ_RULES):
        return True
    return _uploaded_by(actor, stored_file)


def get_file_for(*, actor, file_id: int) -> StoredFile:
    """The file if it exists and `actor` may read it; NotFound `file_not_found` otherwise."""
    stored = (
        StoredFile.objects.select_related("organisation", "created_by").filter(pk=file_id).first()
    )
    if stored is None or not can_read(actor, stored):
        raise NotFound(FILE_NOT_FOUND, code="file_not_found")
    return stored


def _record_integrity_failure(stored_file: StoredFile, *, actor, reason: str) -> None:
    """Flag the file and write the audit entry, committed on their own.

    Precondition: called outside the caller's transaction (reads are not atomic), so the
    flag survives the Conflict raised right after. Only the first detection is recorded.
    """
    log.error("Stored file %s failed its integrity check: %s", stored_file.pk, reason)
    with transaction.atomic():
        now = timezone.now()
        flagged = StoredFile.objects.filter(
            pk=stored_file.pk, integrity_failed_at__isnull=True
        ).update(integrity_failed_at=now)
        if flagged:
            stored_file.integrity_failed_at = now
            audit.record(
                action="file.integrity_failed",
                actor=_audit_actor(actor),
                obj=stored_file,
                organisation=stored_file.organisation,
                data={"sha256": stored_file.sha256, "reason": reason},
            )


def _record_integrity_restored(stored_file: StoredFile, *, actor) -> None:
    with transaction.atomic():
        cleared = StoredFile.objects.filter(
            pk=stored_file.pk, integrity_failed_at__isnull=False
        ).update(integrity_failed_at=None)
        if cleared:
            stored_file.integrity_failed_at = None
            audit.record(
                action="file.integrity_restored",
                actor=_audit_actor(actor),
                obj=stored_file,
                organisation=stored_file.organisation,
                data={"sha256": stored_file.sha256},
            )


def _check(stored_file: StoredFile, *, actor, copy_to: IO[bytes] | None = None) -> str | None:
    """Re-hash the stored bytes (copying them to `copy_to`); the reason they are bad, or None.

    Records the failure, or the recovery of a file flagged before, as a side effect.
    """
    digest = hashlib.sha256()
    size = 0
    try:
        with default_storage.open(stored_file.storage_name, "rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
                digest.update(chunk)
                size += len(chunk)
                if copy_to is not None:
                    copy_to.write(chunk)
    except (FileNotFoundError, OSError) as exc:
        reason = f"không đọc được tệp trên kho lưu trữ ({exc.__class__.__name__})"
    else:
        if digest.hexdigest() != stored_file.sha256:
            reason = f"mã băm SHA-256 không khớp (đọc được {size} byte)"
        else:
            reason = None
    if reason is not None:
        _record_integrity_failure(stored_file, actor=actor, reason=reason)
    elif stored_file.integrity_failed_at is not None:
        _record_integrity_restored(stored_file, actor=actor)
    return reason


def open_verified(*, actor, stored_file: StoredFile) -> IO[bytes]:
    """The file's bytes, positioned at 0, after checking they still hash to its SHA-256.

    The bytes are copied (in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, on disk above) while
    hashing, and the copy is what the caller gets, so nothing read after the check can differ
    from what was verified. The caller closes the returned file (FileResponse does).

    On mismatch or loss: flags the file, writes "file.integrity_failed" (committed on its own:
    call this outside any transaction) and raises Conflict `file_integrity_failed`.
    Raises NotFound `file_not_found` when `actor` may not read the file.
    """
    if not can_read(actor, stored_file):
        raise NotFound(FILE_NOT_FOUND, code="file_not_found")
    copy = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (handed to the caller, who closes it)
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, prefix="cqs-read-"
    )
    try:
        reason = _check(stored_file, actor=actor, copy_to=copy)
    except BaseException:
        copy.close()
        raise
    if reason is not None:
        copy.close()
        raise Conflict(INTEGRITY_MESSAGE, code="file_integrity_failed")
    copy.seek(0)
    return copy


def read_verified(*, actor, stored_file: StoredFile) -> bytes:
    """All of a (small) file's verified bytes; see `open_verified`."""
    with open_verified(actor=actor, stored_file=stored_file) as fh:
        return fh.read()


def iter_chunks(fileobj: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield `fileobj` in chunks and close it at the end."""
    try:
        yield from iter(lambda: fileobj.read(chunk_size), b"")
    finally:
        fileobj.close()


@dataclass(frozen=True)
class BrokenFile:
    stored_file: StoredFile
    reason: str


def verify_all(*, chunk_size: int = 500) -> tuple[int, list[BrokenFile]]:
    """Re-hash every stored file (for `manage.py files verify`); returns (checked, broken).

    Broken files are flagged and audited like a failed read; files flagged before that hash
    right again (restored from a backup) are cleared.
    """
    checked = 0
    broken: list[BrokenFile] = []
    actor = "cqs files verify"
    for stored in (
        StoredFile.objects.select_related("organisation")
        .order_by("id")
        .iterator(chunk_size=chunk_size)
    ):
        checked += 1
        reason = _check(stored, actor=actor)
        if reason is not None:
            broken.append(BrokenFile(stored, reason))
    return checked, broken
