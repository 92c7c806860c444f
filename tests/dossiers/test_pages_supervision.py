"""The supervision page and the filtered list (issue #3): personas, figures that click through
to exactly their dossiers, bounded queries, the Form 06 download; the queue page's bound."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chinhquyenso.dossiers.models import Dossier
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
    # The rating tables' headings are written in full, not "Rất HL / HL / Không HL".
    table = html.split('id="hai-long-can-bo"', 1)[1].split("</thead>", 1)[0]
    headings = [cell.split("</th>", 1)[0] for cell in table.split('<th scope="col">')[2:]]
    assert headings == ["Rất hài lòng", "Hài lòng", "Không hài lòng"]


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


# --- Bad periods: a Vietnamese 400, never a stack trace ---------------------------------------

BAD_PERIODS = [
    pytest.param(
        {"tu": "01/01/2100"},
        "“Từ ngày” (01/01/2100) phải trước hoặc trùng “Đến ngày” (09/03/2026)",
        id="start-after-today",
    ),
    pytest.param(
        {"tu": "01/01/2000", "den": "01/01/2026"},
        "Mỗi lần chỉ xem tối đa 5 năm",
        id="over-five-years",
    ),
]


def test_the_end_of_the_period_may_not_be_before_its_start(
    client, clock, commune_leader, commune_a
):
    sign_in(client, commune_leader)
    response = client.get(URL, {"to_chuc": commune_a.pk, "tu": "05/03/2026", "den": "04/03/2026"})
    assert response.status_code == 400
    assert "“Đến ngày” không được trước “Từ ngày”." in response.content.decode()
    # One day (the same date twice) is a valid period.
    same_day = client.get(URL, {"to_chuc": commune_a.pk, "tu": "05/03/2026", "den": "05/03/2026"})
    assert same_day.status_code == 200


@pytest.mark.parametrize(("period", "message"), BAD_PERIODS)
def test_supervision_refuses_a_bad_period_in_vietnamese(
    client, clock, commune_leader, commune_a, period, message
):
    sign_in(client, commune_leader)
    response = client.get(URL, {"to_chuc": commune_a.pk, **period})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'id="bo-loc"' in html  # the filter form again, to correct the dates


@pytest.mark.parametrize(("period", "message"), BAD_PERIODS)
def test_register_refuses_a_bad_period_in_vietnamese(
    client, clock, commune_leader, commune_a, period, message
):
    sign_in(client, commune_leader)
    response = client.get(reverse("dossiers:register"), {"to_chuc": commune_a.pk, **period})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


@pytest.mark.parametrize("field", ["tu", "den"])
def test_supervision_says_what_is_wrong_with_a_badly_typed_date(
    client, clock, commune_leader, commune_a, field
):
    sign_in(client, commune_leader)
    response = client.get(URL, {"to_chuc": commune_a.pk, field: "31/02/2026"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nhập ngày theo dạng dd/mm/yyyy." in html
    assert {"tu": "Từ ngày", "den": "Đến ngày"}[field] in html


def test_a_validation_error_escaping_a_page_is_a_vietnamese_400(rf, commune_leader):
    """The pages' wrapper itself (`views._common.page`), around a view that lets a service's
    ValidationFailed escape: the 400 page with its message, never a stack trace."""
    from chinhquyenso.core.errors import ValidationFailed
    from chinhquyenso.dossiers.views._common import page

    @page(None)
    def view(request):
        raise ValidationFailed("Kỳ báo cáo không hợp lệ.", code="invalid_filter")

    request = rf.get("/ho-so/giam-sat/")
    request.user = commune_leader
    response = view(request)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Yêu cầu không hợp lệ" in html and "Kỳ báo cáo không hợp lệ." in html


def test_list_chips_skip_digits_that_are_not_numbers():
    from chinhquyenso.dossiers.views.lists import _describe

    # "²".isdigit() is true but int("²") fails; filtered_dossiers refuses it before the chips
    # are drawn, but the chips must not depend on that.
    assert _describe({"channel": "²", "status": "²"}) == []
    assert _describe({"channel": "3"}) == ["Kênh: Qua bưu chính công ích"]


# --- Thousands separators: "1.234", as Vietnamese writes numbers ------------------------------


def copies(d: Dossier, n: int) -> list[Dossier]:
    """`n` more dossiers like `d` (test data in bulk: a commune's figures in the thousands)."""
    fields = {f.attname: getattr(d, f.attname) for f in d._meta.concrete_fields}
    made = [
        Dossier(**{**fields, "id": None, "code": f"{d.code[:-4]}{9999 - i:04d}"}) for i in range(n)
    ]
    return Dossier.objects.bulk_create(made)


def vn(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def test_supervision_figures_have_thousands_separators(client, three, commune_leader):
    from chinhquyenso.dossiers.models import Rating

    made = copies(three[0], 1231)  # 1,234 received this month, in time
    Rating.objects.bulk_create(
        Rating(dossier=d, level=2, criteria={}, unit=d.receiving_organisation, at=d.received_at)
        for d in made[:1200]
    )
    total = Dossier.objects.count()
    assert total == 1234
    sign_in(client, commune_leader)
    html = client.get(URL).content.decode()
    in_time = html.split('id="trong-han"', 1)[1].split("</p>", 1)[0]
    assert ">1.234</a>" in in_time
    received = html.split('id="tiep-nhan"', 1)[1].split("</table>", 1)[0]
    assert f">{vn(total)}</a>" in received
    assert "1.200 lượt đánh giá" in html and "1.200 hài lòng" in html


def test_queue_badges_have_thousands_separators(client, received, desk_officer):
    copies(received, 1233)
    sign_in(client, desk_officer)
    html = client.get(reverse("dossiers:queue")).content.decode()
    tabs = html.split('id="hang-doi"', 1)[1].split("</ul>", 1)[0]
    assert 'text-bg-secondary">1.234</span>' in tabs


def test_period_errors_are_translated_for_english_readers(client, clock, commune_leader, commune_a):
    sign_in(client, commune_leader)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    late_start = client.get(URL, {"to_chuc": commune_a.pk, "tu": "01/01/2100"})
    assert late_start.status_code == 400
    assert "“From” (01/01/2100) must be on or before “To” (09/03/2026)." in (
        late_start.content.decode()
    )
    too_long = client.get(URL, {"to_chuc": commune_a.pk, "tu": "01/01/2000", "den": "01/01/2026"})
    assert "At most 5 years can be shown at a time" in too_long.content.decode()
    reversed_period = client.get(
        URL, {"to_chuc": commune_a.pk, "tu": "05/03/2026", "den": "04/03/2026"}
    )
    assert "“To” must not be before “From”." in reversed_period.content.decode()


def test_an_end_date_alone_reads_as_its_month_up_to_that_day(
    client, clock, commune_leader, commune_a
):
    """As the register reads the same fields: no "Từ ngày" means the first of the end's month
    (it was ignored, and the page showed this month instead)."""
    sign_in(client, commune_leader)
    response = client.get(URL, {"to_chuc": commune_a.pk, "den": "15/02/2026"})
    assert response.status_code == 200
    assert "kỳ 01/02/2026 – 15/02/2026" in response.content.decode()
