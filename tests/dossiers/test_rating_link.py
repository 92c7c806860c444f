"""The rating link (QR code): the applicant rates on their phone or a tablet that is not
signed in; the link rates one dossier, once, until it expires, and shows nothing personal."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers.models import Rating, SatisfactionLevel
from tests.conftest import sign_in
from tests.dossiers.test_rating import resolve

pytestmark = pytest.mark.django_db


@pytest.fixture
def returned(received, desk_officer, responsible, unit_head, commune_leader):
    """A birth registration whose result the desk officer handed over."""
    from chinhquyenso.dossiers import services

    d = resolve(received, desk_officer, responsible, unit_head, commune_leader)
    return services.return_result(
        actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
    )


def make_link(client, desk_officer, dossier) -> str:
    sign_in(client, desk_officer)
    page = client.get(f"/ho-so/{dossier.code}/danh-gia/ma-qr/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="ma-qr"' in html and "data:image/svg+xml" in html
    return re.search(r'id="duong-dan-danh-gia" href="([^"]+)"', html).group(1)


def test_the_applicant_rates_through_the_link_without_signing_in(client, returned, desk_officer):
    path = make_link(client, desk_officer, returned)
    assert path.startswith("/tra-cuu/danh-gia/")
    applicant = Client()  # the applicant's phone: nobody signed in
    page = applicant.get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert returned.code in html and returned.receiving_organisation.name in html
    assert returned.applicant_name not in html and returned.applicant_id_number not in html
    done = applicant.post(path, {"level": SatisfactionLevel.VERY_SATISFIED}, follow=True)
    assert "Xin cảm ơn ông/bà đã đánh giá!" in done.content.decode()
    rating = Rating.objects.get(dossier=returned)
    assert rating.level == SatisfactionLevel.VERY_SATISFIED
    assert rating.official == desk_officer  # the desk officer who returned the result
    entry = AuditEntry.objects.filter(action="dossier.rated").get()
    assert entry.actor is None
    assert entry.data["via"] == "rating_link" and entry.data["link_made_by"] == desk_officer.pk
    # Once: a second post changes nothing.
    again = applicant.post(path, {"level": SatisfactionLevel.DISSATISFIED})
    assert again.status_code == 200 and "Xin cảm ơn" in again.content.decode()
    assert Rating.objects.get(dossier=returned).level == SatisfactionLevel.VERY_SATISFIED


@pytest.mark.parametrize("damage", ["tampered", "expired"])
def test_a_tampered_or_expired_link_rates_nothing(
    client, returned, desk_officer, monkeypatch, damage
):
    path = make_link(client, desk_officer, returned)
    if damage == "tampered":
        path = path.replace("/danh-gia/", "/danh-gia/x")
    else:
        import time

        later = time.time() + 3 * 60 * 60  # the link lives two hours
        monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    applicant = Client()
    response = applicant.post(path, {"level": SatisfactionLevel.SATISFIED})
    assert response.status_code == 404
    assert "Đường dẫn đánh giá không hợp lệ hoặc đã hết hạn" in response.content.decode()
    assert not Rating.objects.exists()


def test_only_the_desk_makes_a_link_and_only_for_a_result(
    client, returned, birth, desk_unit_a, desk_officer, responsible
):
    from tests.dossiers.conftest import receive

    sign_in(client, responsible)  # a specialist: sees the dossier, is not the desk
    assert client.get(f"/ho-so/{returned.code}/danh-gia/ma-qr/").status_code == 403
    sign_in(client, desk_officer)
    received = receive(desk_officer, desk_unit_a, birth.procedure)  # no result yet
    not_yet = client.get(f"/ho-so/{received.code}/danh-gia/ma-qr/")
    assert not_yet.status_code == 400
    assert "Chỉ đánh giá được hồ sơ đã có kết quả" in not_yet.content.decode()
