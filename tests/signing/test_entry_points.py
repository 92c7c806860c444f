"""`cqs verify-pdf`, POST /api/v1/signatures/validate and the validation page, with personas."""

from __future__ import annotations

import json
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from chinhquyenso.core.services import apikeys
from chinhquyenso.signing import services
from tests.conftest import sign_in

URL = "/api/v1/signatures/validate"
PAGE = "/chu-ky-so/kiem-tra/"


@pytest.fixture
def signed_pdf(demo_trusted, leader_key, one_page_pdf, sign_options):
    return services.sign_pdf(
        actor=None,
        pdf_bytes=one_page_pdf,
        key=leader_key,
        field_name="ChuKy",
        level="B-LT",
        options=sign_options,
    )


def test_long_term_signing_logs_no_warning(caplog, signed_pdf):
    """The revocation data is complete before signing (hard-fail check), so pyHanko's warning
    about embedding it without fetching is dropped (`signed_pdf` signs B-LT while `caplog`
    records); anything else that logger says still shows."""
    logging.getLogger("pyhanko.sign.signers.pdf_signer").warning("Something else")
    records = caplog.get_records("setup") + caplog.records
    messages = [r.getMessage() for r in records if r.name.startswith("pyhanko")]
    assert messages == ["Something else"]


def _run(path, *args):
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify-pdf", str(path), *args)
    return exit_info.value.code


def test_command_exit_codes(signed_pdf, tmp_path, capsys):
    good = tmp_path / "good.pdf"
    good.write_bytes(signed_pdf)
    assert _run(good) == 0
    assert "HỢP LỆ" in capsys.readouterr().out
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(signed_pdf.replace(b"trang 1)", b"trang 7)", 1))
    assert _run(bad, "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["signatures"][0]["verdict"]["indication"] == "failed"


def test_command_indeterminate_and_garbage(tmp_path, one_page_pdf, capsys):
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(one_page_pdf)
    assert _run(unsigned) == 2
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.4 rubbish")
    assert _run(junk) == 1
    err = capsys.readouterr().err
    assert "PDF" in err and "Traceback" not in err


def _upload(data, name="a.pdf"):
    return {"file": SimpleUploadedFile(name, data, content_type="application/pdf")}


def test_api_official_gets_the_report(client, responsible, signed_pdf):
    sign_in(client, responsible)
    response = client.post(URL, _upload(signed_pdf))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["signatures"][0]["verdict"]["label"] == "hợp lệ"


def test_api_rejects_anonymous_and_citizens(client, citizen, one_page_pdf):
    assert client.post(URL, _upload(one_page_pdf)).status_code == 401
    sign_in(client, citizen)
    assert client.post(URL, _upload(one_page_pdf)).status_code in (401, 403)


def test_api_key_needs_the_scope(client, commune_a, commune_admin, monkeypatch, one_page_pdf):
    monkeypatch.setitem(apikeys.KNOWN_SCOPES, "signatures:validate", "Kiểm tra chữ ký số")
    _, with_scope = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="kiểm tra", scopes=["signatures:validate"]
    )
    _, without = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="khác", scopes=["files:read"]
    )
    ok = client.post(URL, _upload(one_page_pdf), HTTP_X_API_KEY=with_scope)
    assert ok.status_code == 200
    denied = client.post(URL, _upload(one_page_pdf), HTTP_X_API_KEY=without)
    assert denied.status_code == 403
    assert denied.json()["code"] == "scope_missing"


def test_api_corrupted_pdf_is_a_json_error(client, responsible):
    sign_in(client, responsible)
    response = client.post(URL, _upload(b"%PDF-1.7 broken"))
    assert response.status_code == 400
    assert response.json()["code"] == "pdf_corrupted"


def test_page_shows_the_report(client, responsible, signed_pdf):
    sign_in(client, responsible)
    assert client.get(PAGE).status_code == 200
    response = client.post(PAGE, _upload(signed_pdf))
    assert response.status_code == 200
    assert "Võ Minh Giang" in response.content.decode()


def test_page_error_and_permissions(client, responsible, citizen):
    assert client.get(PAGE).status_code == 302
    sign_in(client, citizen)
    assert client.get(PAGE).status_code == 403
    sign_in(client, responsible)
    response = client.post(PAGE, _upload(b"not a pdf"))
    assert response.status_code == 400
    assert "Tệp không phải là tệp PDF." in response.content.decode()


def test_command_on_a_database_never_migrated_says_what_to_do(tmp_path, one_page_pdf):
    """A newcomer runs `cqs verify-pdf` before `make demo`: a sentence, not a stack trace."""
    import os
    import subprocess
    import sys

    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(one_page_pdf)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    env["CQS_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "chinhquyenso.cli", "verify-pdf", str(pdf)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "cqs migrate" in done.stderr and "database_not_ready" in done.stderr
    assert "Traceback" not in done.stderr
