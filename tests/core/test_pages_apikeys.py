"""API keys page: list, create (key shown once), revoke."""

from __future__ import annotations

from chinhquyenso.core.models import ApiKey
from chinhquyenso.core.services import apikeys
from tests.core.test_pages_support import sign_in

PAGE = "/quan-tri/khoa-api/"


def test_forbidden_personas(client, responsible, leader, citizen):
    assert client.get(PAGE)["Location"].startswith("/dang-nhap/")
    for who in (responsible, leader, citizen):
        sign_in(client, who)
        assert client.get(PAGE).status_code == 403
        client.logout()


def test_create_shows_the_key_once_and_it_works(client, commune_admin, commune_a):
    sign_in(client, commune_admin)
    response = client.post(
        PAGE,
        {"organisation": commune_a.pk, "name": "Cổng dịch vụ công", "scopes": ["calendar:read"]},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response.get("Cache-Control", "") or "max-age=0" in response.get(
        "Cache-Control", ""
    )
    key = ApiKey.objects.get()
    start = html.index(f"cqs_{key.prefix}_")
    plaintext = html[start : html.index("<", start)]
    assert apikeys.authenticate(plaintext) == key
    again = client.get(PAGE).content.decode()
    assert plaintext not in again
    assert "Cổng dịch vụ công" in again


def test_revoke(client, commune_admin, commune_a, province):
    key, _ = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="k", scopes=["people:read"]
    )
    sign_in(client, commune_admin)
    assert client.post(f"{PAGE}{key.pk}/thu-hoi/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_other_communes_keys_are_invisible(client, commune_admin, province_admin, commune_b):
    key, _ = apikeys.create_api_key(
        actor=province_admin, organisation=commune_b, name="Khóa xã B", scopes=["people:read"]
    )
    sign_in(client, commune_admin)
    assert "Khóa xã B" not in client.get(PAGE).content.decode()
    assert client.post(f"{PAGE}{key.pk}/thu-hoi/").status_code == 404


def test_scopes_are_shown_by_their_vietnamese_label(client, commune_admin, commune_a):
    apikeys.create_api_key(
        actor=commune_admin,
        organisation=commune_a,
        name="Cổng dịch vụ công",
        scopes=["people:read", "calendar:read"],
    )
    sign_in(client, commune_admin)
    html = client.get(PAGE).content.decode()
    table = html.split('id="api-keys"', 1)[1].split("</table>", 1)[0]
    assert '<span class="badge text-bg-light border" title="people:read">' in table
    assert ">Đọc danh sách cán bộ</span>" in table
    assert ">Tính hạn theo lịch làm việc</span>" in table
    assert ">people:read<" not in table  # the code only as the tooltip
