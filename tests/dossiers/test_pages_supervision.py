"""The supervision page and the filtered list (issue #3): personas, figures that click through
to exactly their dossiers, bounded queries, the Form 06 download; the queue page's bound."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import sign_in
from tests.dossiers.conftest import receive

URL = reverse("dossiers:supervision")


@pytest.fixture
def three(clock, birth, desk_officer, desk_unit_a):
    dossiers = [receive(desk_officer, desk_unit_a, birth.procedure) for _ in range(2)]
    dossiers.append(receive(desk_officer, desk_unit_a, birth.procedure, channel=3))
    return dossiers


def test_anonymous_goes_to_login(client, db):
    assert "/dang-nhap/" in client.get(URL)["Location"]


@pytest.mark.parametrize("persona", ["citizen", "responsible", "desk_officer"])
def test_people_who_do_not_supervise_are_refused(client, request, persona):
    sign_in(client, request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403


def test_unit_head_sees_counts_that_click_through(
    client, three, unit_head, commune_leader, django_assert_max_num_queries
):
    sign_in(client, commune_leader)
    client.get(URL)
    with django_assert_max_num_queries(20):
        response = client.get(URL)
    assert response.status_code == 200
    f = response.context["f"]
    total = f["received"][0]
    assert total["today"]["value"] == 3 and total["period"]["value"] == 3
    postal = next(r for r in f["received"] if r["label"] == "Qua bưu chính công ích")
    assert postal["today"]["value"] == 1
    assert f["in_time"]["value"] == 3
    listing = client.get(postal["today"]["url"])
    assert listing.status_code == 200
    html = listing.content.decode()
    assert three[2].code in html and three[0].code not in html
    assert "Kênh: Qua bưu chính công ích" in html
    assert "Đánh giá mức độ hài lòng" in response.content.decode()


@pytest.mark.parametrize("n", [10, 50])
def test_supervision_page_queries_do_not_grow(
    n,
    client,
    clock,
    birth,
    desk_officer,
    desk_unit_a,
    responsible,
    commune_leader,
    django_assert_max_num_queries,
):
    from chinhquyenso.dossiers import services

    for i in range(n):
        d = receive(desk_officer, desk_unit_a, birth.procedure, channel=1 + i % 3)
        if i % 2:
            services.claim(
                actor=responsible, dossier=services.forward(actor=desk_officer, dossier=d)
            )
    sign_in(client, commune_leader)
    client.get(URL)
    with django_assert_max_num_queries(20):
        response = client.get(URL)
    assert response.context["f"]["received"][0]["today"]["value"] == n
    with django_assert_max_num_queries(12):
        listing = client.get(response.context["f"]["in_time"]["url"])
    assert listing.status_code == 200


def test_official_of_another_commune_sees_none_of_them(client, three, other_commune_official):
    sign_in(client, other_commune_official)
    response = client.get(reverse("dossiers:list"), {"channel": 3})
    assert response.status_code == 200
    assert three[2].code not in response.content.decode()


def test_bad_filters_are_a_vietnamese_400(client, three, commune_leader):
    sign_in(client, commune_leader)
    response = client.get(reverse("dossiers:list"), {"channel": "9"})
    assert response.status_code == 400
    assert "Giá trị lọc không hợp lệ" in response.content.decode()


def test_list_is_bounded(client, three, commune_leader, django_assert_max_num_queries):
    sign_in(client, commune_leader)
    client.get(reverse("dossiers:list"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dossiers:list"))
    assert all(d.code in response.content.decode() for d in three)


def test_register_downloads_excel(client, three, commune_leader, commune_a):
    sign_in(client, commune_leader)
    response = client.get(
        reverse("dossiers:register"),
        {"to_chuc": commune_a.pk, "tu": "01/03/2026", "den": "31/03/2026"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"


def test_supervision_lists_ratings(client, three, commune_leader):
    sign_in(client, commune_leader)
    html = client.get(URL).content.decode()
    assert "0 lượt đánh giá" in html


@pytest.mark.parametrize("n", [10, 50])
def test_queue_page_queries_do_not_grow(
    n, client, clock, birth, desk_officer, desk_unit_a, responsible, django_assert_max_num_queries
):
    from chinhquyenso.dossiers import services
    from chinhquyenso.dossiers.views._common import PER_PAGE

    for i in range(n):
        d = receive(desk_officer, desk_unit_a, birth.procedure, channel=1 + i % 3)
        if i % 2:
            services.forward(actor=desk_officer, dossier=d)
    sign_in(client, desk_officer)
    client.get(reverse("dossiers:queue"))
    for tab, shown in (("to_handle", (n + 1) // 2), ("waiting_others", n // 2)):
        with django_assert_max_num_queries(14):
            response = client.get(reverse("dossiers:queue"), {"tab": tab})
        assert response.status_code == 200
        assert len(response.context["page_obj"].object_list) == min(shown, PER_PAGE)
        assert response.context["page_obj"].paginator.count == shown
