"""The certificate pages (/chu-ky-so/chung-thu/), the trust store page (/chu-ky-so/kho-tin-cay/)
and GET/POST /api/v1/signatures/certificates, persona by persona."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from chinhquyenso.core.errors import PermissionDenied
from chinhquyenso.core.models import AuditEntry, Role
from chinhquyenso.core.services import apikeys
from chinhquyenso.signing import certificates, services
from chinhquyenso.signing.models import Certificate, TrustedCertificate
from tests.conftest import make_official, sign_in
from tests.signing.pki import P12_PASSWORD
from tests.signing.test_certificates import issue_near_expiry

LIST = "/chu-ky-so/chung-thu/"
TRUST = "/chu-ky-so/kho-tin-cay/"
API = "/api/v1/signatures/certificates"


def upload(data: bytes, name: str = "chung-thu.crt"):
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.fixture
def other_admin(commune_b):
    return make_official("quantri.b", commune_b, Role.ADMIN, "Quản trị hệ thống")


@pytest.fixture
def own_cert(responsible, pki):
    return certificates.register_certificate(
        actor=responsible, data=pki["leader"].cert_path.read_bytes()
    )


# --- List and register --------------------------------------------------------------------------


def test_anonymous_goes_to_login_and_citizen_is_refused(client, citizen):
    response = client.get(LIST)
    assert response.status_code == 302 and "next=" in response["Location"]
    sign_in(client, citizen)
    assert client.get(LIST).status_code == 403
    assert client.get(TRUST).status_code == 403


def test_official_sees_own_certificate_with_details(client, responsible, own_cert):
    sign_in(client, responsible)
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Võ Minh Giang" in page and own_cert.serial in page
    assert timezone.localtime(own_cert.not_after).strftime("%d/%m/%Y") in page  # Asia/Ho_Chi_Minh
    assert "Ký số, Chống chối bỏ" in page and "Đang dùng" in page
    assert 'href="/chu-ky-so/chung-thu/"' in page  # the navigation entry


def test_colleague_does_not_see_it(client, colleague, own_cert):
    sign_in(client, colleague)
    page = client.get(LIST).content.decode()
    assert own_cert.serial not in page
    assert client.get(f"{LIST}{own_cert.pk}/").status_code == 404
    assert client.post(f"{LIST}{own_cert.pk}/ngung-dung/").status_code == 404
    own_cert.refresh_from_db()
    assert own_cert.is_active


def test_admin_of_the_commune_sees_it_other_commune_admin_does_not(
    client, commune_admin, other_admin, own_cert
):
    sign_in(client, commune_admin)
    assert own_cert.serial in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{own_cert.pk}/").status_code == 200
    client.logout()
    sign_in(client, other_admin)
    assert own_cert.serial not in client.get(LIST).content.decode()
    assert client.get(f"{LIST}{own_cert.pk}/").status_code == 404


def test_register_pkcs12_through_the_page(client, responsible, pki):
    sign_in(client, responsible)
    response = client.post(
        LIST, {"file": upload(pki["leader"].p12_bytes, "ca-nhan.p12"), "password": P12_PASSWORD}
    )
    assert response.status_code == 302
    row = Certificate.objects.get()
    assert response["Location"] == f"{LIST}{row.pk}/"
    assert row.user == responsible and row.source_format == "pkcs12"
    detail = client.get(response["Location"]).content.decode()
    assert "Đã đăng ký chứng thư số" in detail and "Tệp PKCS#12 do người ký giữ" in detail
    assert P12_PASSWORD not in detail
    stored = json.dumps(
        [{k: v for k, v in r.items() if k != "der"} for r in Certificate.objects.values()],
        default=str,
    )
    assert P12_PASSWORD not in stored
    audit_data = json.dumps(list(AuditEntry.objects.values_list("data", flat=True)))
    assert P12_PASSWORD not in audit_data


def test_wrong_password_and_expired_show_the_message(client, responsible, pki):
    sign_in(client, responsible)
    response = client.post(
        LIST, {"file": upload(pki["leader"].p12_bytes, "a.p12"), "password": "sai"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Mật khẩu tệp PKCS#12 không đúng" in page and 'value="sai"' not in page
    response = client.post(LIST, {"file": upload(pki["expired"].cert_path.read_bytes())})
    assert response.status_code == 400
    assert "đã hết hạn" in response.content.decode()
    assert not Certificate.objects.exists()


def test_admin_registers_an_official_and_the_seal(
    client, commune_admin, responsible, commune_a, pki
):
    sign_in(client, commune_admin)
    page = client.get(LIST).content.decode()
    assert "Cán bộ sở hữu" in page and responsible.full_name in page
    response = client.post(
        LIST,
        {
            "file": upload(pki["leader"].cert_der, "a.cer"),
            "purpose": "personal",
            "holder": responsible.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()
    response = client.post(
        LIST,
        {
            "file": upload(pki["organisation"].cert_der, "dau.cer"),
            "purpose": "organisation",
            "organisation": commune_a.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()
    assert set(Certificate.objects.values_list("purpose", "user_id")) == {
        ("personal", responsible.pk),
        ("organisation", None),
    }


def test_official_form_has_no_holder_choice(client, responsible, commune_admin):
    sign_in(client, responsible)
    page = client.get(LIST).content.decode()
    assert "Cán bộ sở hữu" not in page and "Mật khẩu tệp PKCS#12" in page


def test_near_expiry_badge_and_deactivation(client, responsible, pki, tmp_path):
    row = certificates.register_certificate(
        actor=responsible, data=issue_near_expiry(pki, tmp_path, 6).read_bytes()
    )
    sign_in(client, responsible)
    assert "Sắp hết hạn" in client.get(LIST).content.decode()
    detail = client.get(f"{LIST}{row.pk}/").content.decode()
    assert "Sắp hết hạn" in detail and "còn 6 ngày" in detail
    response = client.post(f"{LIST}{row.pk}/ngung-dung/", {"reason": "Đã cấp chứng thư mới"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert not row.is_active and row.deactivation_reason == "Đã cấp chứng thư mới"
    assert "Ngừng dùng" in client.get(f"{LIST}{row.pk}/").content.decode()


# --- Trust store -------------------------------------------------------------------------------


def test_trust_store_only_for_administrators(client, responsible, anonymous):
    assert client.get(TRUST).status_code == 302
    sign_in(client, responsible)
    assert client.get(TRUST).status_code == 403
    gov = TrustedCertificate.objects.first()
    assert client.post(f"{TRUST}{gov.sha256}/bat-tat/").status_code == 403
    assert client.post(f"{TRUST}{gov.sha256}/go/").status_code == 403
    gov.refresh_from_db()
    assert gov.is_active


def test_trust_store_not_for_a_commune_administrator(client, commune_admin, pki):
    """The trust store decides what every agency's validation accepts: a commune administrator
    (an administrator, but not of a top-level organisation) neither sees nor changes it."""
    sign_in(client, commune_admin)
    assert "Kho chứng thư tin cậy" not in client.get("/").content.decode()
    assert client.get(TRUST).status_code == 403
    gov = TrustedCertificate.objects.first()
    assert client.post(f"{TRUST}{gov.sha256}/bat-tat/").status_code == 403
    assert client.post(f"{TRUST}{gov.sha256}/go/").status_code == 403
    with pytest.raises(PermissionDenied):
        services.add_trusted_certificate(
            actor=commune_admin, data=pki["root"].cert_path.read_bytes()
        )
    gov.refresh_from_db()
    assert gov.is_active
    assert TrustedCertificate.objects.count() == 2


def test_trust_store_shows_government_ca_and_is_managed(client, province_admin, pki):
    sign_in(client, province_admin)
    page = client.get(TRUST).content.decode()
    assert page.count("CA Chính phủ (cài sẵn)") == 2
    assert 'href="/chu-ky-so/kho-tin-cay/"' in page
    gov = TrustedCertificate.objects.get(kind="anchor")
    # Switch off, on, then add the demo root and remove it: each audited.
    assert client.post(f"{TRUST}{gov.sha256}/bat-tat/").status_code == 302
    gov.refresh_from_db()
    assert not gov.is_active
    assert "Đã tắt" in client.get(TRUST).content.decode()
    client.post(f"{TRUST}{gov.sha256}/bat-tat/")
    gov.refresh_from_db()
    assert gov.is_active
    response = client.post(
        TRUST, {"file": upload(pki["root"].cert_path.read_bytes()), "kind": "anchor", "note": ""}
    )
    assert response.status_code == 302
    demo = TrustedCertificate.objects.get(subject__contains="CQS Demo Root CA")
    assert client.post(f"{TRUST}{demo.sha256}/go/").status_code == 302
    assert not TrustedCertificate.objects.filter(pk=demo.pk).exists()
    actions = list(
        AuditEntry.objects.filter(action__startswith="trust.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "trust.certificate_disabled",
        "trust.certificate_enabled",
        "trust.certificate_added",
        "trust.certificate_removed",
    ]


def test_trust_store_refuses_a_non_certificate(client, province_admin):
    sign_in(client, province_admin)
    response = client.post(TRUST, {"file": upload(b"rubbish"), "kind": "anchor"})
    assert response.status_code == 400
    assert "không phải chứng thư số" in response.content.decode()


# --- API ---------------------------------------------------------------------------------------


def test_api_anonymous_and_citizen(client, citizen, pki):
    assert client.get(API).status_code == 401
    assert client.post(API, {"file": upload(pki["leader"].cert_der)}).status_code == 401
    sign_in(client, citizen)
    assert client.get(API).status_code == 403
    assert client.post(API, {"file": upload(pki["leader"].cert_der)}).status_code == 403


def test_api_official_registers_and_lists_own(client, responsible, colleague, pki):
    sign_in(client, responsible)
    response = client.post(
        API, {"file": upload(pki["leader"].p12_bytes, "a.p12"), "password": P12_PASSWORD}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["holder_user_id"] == responsible.pk and body["status"] == "valid"
    assert body["key_usage"] == ["digital_signature", "non_repudiation"]
    assert [c["id"] for c in client.get(API).json()] == [body["id"]]
    response = client.post(
        API, {"file": upload(pki["leader"].p12_bytes, "a.p12"), "password": "sai"}
    )
    assert response.status_code == 400 and response.json()["code"] == "wrong_password"
    client.logout()
    sign_in(client, colleague)
    assert client.get(API).json() == []
    response = client.post(
        API, {"file": upload(pki["organisation"].cert_der), "holder_user_id": responsible.pk}
    )
    assert response.status_code == 403


def test_api_key_needs_the_scope_and_stays_in_its_organisation(
    client, commune_a, commune_b, commune_admin, responsible, own_cert, pki
):
    _, reader = apikeys.create_api_key(
        actor=commune_admin,
        organisation=commune_a,
        name="Hệ thống văn bản",
        scopes=["certificates:read", "certificates:write"],
    )
    _, no_scope = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Khác", scopes=["files:read"]
    )
    assert client.get(API, headers={"X-API-Key": no_scope}).status_code == 403
    listed = client.get(API, headers={"X-API-Key": reader}).json()
    assert [c["id"] for c in listed] == [own_cert.pk]
    response = client.post(
        API,
        {
            "file": upload(pki["organisation"].cert_der),
            "purpose": "organisation",
            "organisation_id": commune_a.pk,
        },
        headers={"X-API-Key": reader},
    )
    assert response.status_code == 201, response.content
    response = client.post(
        API,
        {
            "file": upload(pki["organisation"].cert_der),
            "purpose": "organisation",
            "organisation_id": commune_b.pk,
        },
        headers={"X-API-Key": reader},
    )
    assert response.status_code == 403
    entry = AuditEntry.objects.filter(action="certificate.registered").order_by("pk").last()
    assert entry.actor is None and "Hệ thống văn bản" in entry.actor_label


def test_anonymous_cannot_open_or_deactivate(client, own_cert):
    for response in (
        client.get(f"{LIST}{own_cert.pk}/"),
        client.post(f"{LIST}{own_cert.pk}/ngung-dung/"),
    ):
        assert response.status_code == 302 and "next=" in response["Location"]
    own_cert.refresh_from_db()
    assert own_cert.is_active


def test_list_queries_do_not_grow_with_rows(
    client, commune_admin, responsible, colleague, pki, tmp_path, django_assert_max_num_queries
):
    sign_in(client, commune_admin)
    certificates.register_certificate(actor=responsible, data=pki["leader"].cert_der)
    with django_assert_max_num_queries(20) as few:
        assert client.get(LIST).status_code == 200
    for days, holder in ((40, responsible), (50, colleague), (60, colleague)):
        data = issue_near_expiry(pki, tmp_path, days, name=f"Cán bộ {days}").read_bytes()
        certificates.register_certificate(actor=holder, data=data)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(LIST).content.decode()
    assert page.count('href="/chu-ky-so/chung-thu/') >= 4 + 1  # rows + navigation


def test_seal_without_organisation_is_shown_on_the_field(client, commune_admin, pki):
    sign_in(client, commune_admin)
    response = client.post(
        LIST, {"file": upload(pki["organisation"].cert_der), "purpose": "organisation"}
    )
    assert response.status_code == 400
    assert "Chọn cơ quan, tổ chức sở hữu chứng thư." in response.content.decode()
    assert not Certificate.objects.exists()
