"""Persona tests of /api/v1/procedures: each endpoint allowed and forbidden."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chinhquyenso.core.services import apikeys
from chinhquyenso.procedures import services
from chinhquyenso.procedures.models import Procedure, ProcedureVersion
from tests.conftest import sign_in

URL = "/api/v1/procedures"


@pytest.fixture
def api_key(monkeypatch):
    """A key with the given scopes (our scopes registered as core's table would list them)."""
    monkeypatch.setitem(apikeys.KNOWN_SCOPES, "procedures:read", "Đọc danh mục thủ tục")
    monkeypatch.setitem(apikeys.KNOWN_SCOPES, "procedures:write", "Nhập danh mục thủ tục")

    def make(actor, organisation, scopes):
        _, plaintext = apikeys.create_api_key(
            actor=actor, organisation=organisation, name="Hệ thống khác", scopes=scopes
        )
        return plaintext

    return make


# --- Public list and detail -----------------------------------------------------------------------


def test_list_is_public_and_paginated(client, catalogue):
    body = client.get(URL, {"limit": 10}).json()
    assert body["count"] == 62
    assert len(body["items"]) == 10
    first = body["items"][0]
    assert set(first) >= {"code", "name", "processing_time", "processing_unit", "online_service"}
    page2 = client.get(URL, {"limit": 10, "offset": 60}).json()
    assert len(page2["items"]) == 2


def test_list_search_and_filters(client, catalogue):
    body = client.get(URL, {"q": "dang ky khai sinh", "level": "commune"}).json()
    assert "1.001193" in [i["code"] for i in body["items"]]
    assert client.get(URL, {"field": "Quốc tịch"}).json()["count"] == 3
    response = client.get(URL, {"level": "planet"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_level"


def test_list_filters_by_field_id(client, catalogue):
    from chinhquyenso.procedures.models import Field

    nationality = Field.objects.get(name="Quốc tịch")
    assert client.get(URL, {"field": str(nationality.pk)}).json()["count"] == 3


@pytest.mark.parametrize("field", ["²", "١٢", "12345678901234567890"])
def test_list_refuses_a_field_id_that_is_not_a_plain_number(client, catalogue, field):
    # "²".isdigit() is true but int("²") fails: it used to be a 500.
    response = client.get(URL, {"field": field})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_field"
    assert "Lĩnh vực" in body["message"] and field in body["message"]


def test_detail_is_public_with_the_content(client, catalogue):
    body = client.get(f"{URL}/1.001193").json()
    assert body["name"] == "Thủ tục đăng ký khai sinh"
    assert len(body["documents"]) == 8
    assert body["fees"][0]["amount_vnd"] == 0
    assert (body["processing_time"], body["processing_unit"]) == (1, "working_days")
    assert body["processing_unit_label"] == "ngày làm việc"
    assert body["online_service"] == "none"
    assert body["online_service_label"] == "Không cung cấp dịch vụ công trực tuyến"
    assert body["online_service_old_level"] == "Mức độ 2"
    assert "123/2015/NĐ-CP" in [b["number"] for b in body["legal_basis"]]
    assert body["version"] == 1
    hours = client.get(f"{URL}/2.001159").json()
    assert (hours["processing_time"], hours["processing_unit"]) == (1, "working_hours")


def test_unknown_code_is_a_404_in_vietnamese(client, catalogue):
    response = client.get(f"{URL}/9.999999")
    assert response.status_code == 404
    assert response.json()["code"] == "procedure_not_found"
    assert "Không tìm thấy" in response.json()["message"]


# --- Versions -------------------------------------------------------------------------------------


def test_versions_for_officials(client, catalogue, responsible, province_admin):
    procedure = Procedure.objects.get(national_code="1.001193")
    services.update_procedure(actor=province_admin, procedure=procedure, result_type="Giấy")
    body = sign_in(client, responsible).get(f"{URL}/1.001193/versions").json()
    assert [(v["number"], v["is_current"]) for v in body] == [(2, True), (1, False)]
    old = client.get(f"{URL}/1.001193/versions/1").json()
    assert old["version"] == 1 and old["result_type"] == ""
    assert client.get(f"{URL}/1.001193/versions/7").status_code == 404


def test_versions_need_an_official(client, catalogue, citizen):
    assert client.get(f"{URL}/1.001193/versions").status_code == 401
    response = sign_in(client, citizen).get(f"{URL}/1.001193/versions")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


# --- Export ---------------------------------------------------------------------------------------


def test_export_json_for_officials(client, catalogue, responsible):
    response = sign_in(client, responsible).get(f"{URL}/export.json")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    records = json.loads(response.content)
    assert len(records) == 62
    assert records == services.export_catalogue(actor=None, system=True)


def test_export_xlsx_for_officials(client, catalogue, colleague):
    response = sign_in(client, colleague).get(f"{URL}/export.xlsx")
    assert response.status_code == 200
    assert response.content[:2] == b"PK"


@pytest.mark.parametrize("path", ["export.json", "export.xlsx"])
def test_export_refused_to_citizens_and_anonymous(client, catalogue, citizen, path):
    assert client.get(f"{URL}/{path}").status_code == 401
    assert sign_in(client, citizen).get(f"{URL}/{path}").status_code == 403


def test_export_with_an_api_key(client, catalogue, commune_admin, commune_a, api_key):
    key = api_key(commune_admin, commune_a, ["procedures:read"])
    assert client.get(f"{URL}/export.json", HTTP_X_API_KEY=key).status_code == 200
    assert client.get(f"{URL}/1.001193/versions", HTTP_X_API_KEY=key).status_code == 200
    other = api_key(commune_admin, commune_a, ["organisations:read"])
    response = client.get(f"{URL}/export.json", HTTP_X_API_KEY=other)
    assert response.status_code == 403
    assert response.json()["code"] == "scope_missing"


# --- Import ---------------------------------------------------------------------------------------


def test_import_json_body_by_the_province_admin(client, db, province_admin, national_records):
    response = sign_in(client, province_admin).post(
        f"{URL}/import", json.dumps(national_records), content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert len(body["created"]) == 62
    again = client.post(
        f"{URL}/import",
        json.dumps({"records": national_records, "source": "lần 2"}),
        content_type="application/json",
    ).json()
    assert len(again["unchanged"]) == 62
    assert again["source"].startswith("API: lần 2")


def test_import_reports_bad_records(client, db, province_admin, national_records):
    records = national_records[:3]
    records[1]["level"] = "?"
    body = (
        sign_in(client, province_admin)
        .post(f"{URL}/import", json.dumps(records), content_type="application/json")
        .json()
    )
    assert body["ok"] is False
    assert len(body["created"]) == 2
    assert body["errors"][0]["index"] == 2
    assert body["errors"][0]["code"] == records[1]["code"]
    assert body["errors"][0]["error_code"] == "invalid_level"


def test_import_uploaded_files(client, catalogue, province_admin):
    exported = services.export_catalogue(actor=None, system=True)
    exported[0]["result_type"] = "Giấy khai sinh"
    xlsx = services.workbook_bytes(exported)
    sign_in(client, province_admin)
    upload = SimpleUploadedFile("danh-muc.xlsx", xlsx)
    body = client.post(f"{URL}/import", {"file": upload}).json()
    assert body["new_versions"] == [exported[0]["code"]]
    upload = SimpleUploadedFile("danh-muc.json", json.dumps(exported).encode())
    body = client.post(f"{URL}/import", {"file": upload}).json()
    assert len(body["unchanged"]) == 62
    assert ProcedureVersion.objects.count() == 63


def test_import_rejects_what_is_not_a_catalogue(client, db, province_admin):
    sign_in(client, province_admin)
    response = client.post(f"{URL}/import", b"<xml/>", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_payload"
    response = client.post(f"{URL}/import", "{}", content_type="application/json")
    assert response.json()["code"] == "invalid_payload"


@pytest.mark.parametrize("persona", ["commune_admin", "responsible", "leader", "citizen"])
def test_import_refused_to_others(client, request, db, persona, national_records):
    sign_in(client, request.getfixturevalue(persona))
    response = client.post(
        f"{URL}/import", json.dumps(national_records[:1]), content_type="application/json"
    )
    assert response.status_code == 403
    assert not Procedure.objects.exists()


def test_import_refused_to_anonymous(client, db, national_records):
    response = client.post(
        f"{URL}/import", json.dumps(national_records[:1]), content_type="application/json"
    )
    assert response.status_code == 401


def test_import_with_a_province_key(
    client, db, province_admin, province, commune_admin, commune_a, api_key, national_records
):
    key = api_key(province_admin, province, ["procedures:write"])
    response = client.post(
        f"{URL}/import",
        json.dumps(national_records[:2]),
        content_type="application/json",
        HTTP_X_API_KEY=key,
    )
    assert response.status_code == 200
    assert len(response.json()["created"]) == 2
    commune_key = api_key(commune_admin, commune_a, ["procedures:write"])
    response = client.post(
        f"{URL}/import",
        json.dumps(national_records[2:3]),
        content_type="application/json",
        HTTP_X_API_KEY=commune_key,
    )
    assert response.status_code == 403


# --- Process --------------------------------------------------------------------------------------


def test_current_process_endpoint(
    client, catalogue, commune_a, unit_a, commune_admin, responsible, other_commune_official
):
    birth = Procedure.objects.get(national_code="1.001193")
    url = f"{URL}/1.001193/processes/{commune_a.pk}"
    response = sign_in(client, responsible).get(url)
    assert response.status_code == 404
    assert response.json()["code"] == "process_not_found"
    services.default_process(actor=commune_admin, procedure=birth, organisation=commune_a)
    body = client.get(url).json()
    assert [s["kind"] for s in body["steps"]] == ["receive", "handle", "approve", "return"]
    assert body["total_minutes"] == body["legal_minutes"] == 450
    assert body["steps"][2]["next_orders"] == [2, 4]
    client.logout()
    assert sign_in(client, other_commune_official).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 401
