"""Organisation pages: the tree, detail, create, edit, administrative units, merge."""

from __future__ import annotations

import pytest
from django.utils import timezone

from chinhquyenso.core.models import AdministrativeUnit, AuditEntry, Organisation, Position, Role
from chinhquyenso.core.models.organisations import OrganisationKind
from tests.conftest import make_official, make_org
from tests.core.test_pages_support import sign_in

LIST = "/quan-tri/co-quan/"


def test_anonymous_goes_to_login(client, province):
    for url in (LIST, f"{LIST}{province.pk}/", f"{LIST}them/", f"{LIST}hop-nhat/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/dang-nhap/?next=")


def test_citizen_is_forbidden_in_vietnamese(client, citizen):
    client.force_login(citizen)
    response = client.get(LIST)
    assert response.status_code == 403
    html = response.content.decode()
    assert "Bạn không có quyền truy cập trang này." in html
    assert '<html lang="vi">' in html


def test_province_admin_sees_the_indented_tree(client, province_admin, unit_a, commune_b):
    sign_in(client, province_admin)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    names = ["UBND tỉnh Lâm Đồng", "UBND xã Đơn Dương", "Văn phòng HĐND", "UBND xã D&#x27;Ran"]
    positions = [html.index(name) for name in names]
    assert positions == sorted(positions)  # depth-first order by path
    assert "--depth: 2" in html  # the unit is two levels below the province
    assert "000.01.39.H39" in html
    assert "Xã Đơn Dương, Lâm Đồng" in html
    assert "Hợp nhất" in html and "Thêm cơ quan, đơn vị" in html


def test_specialist_sees_only_own_unit_and_no_management(client, responsible, commune_b):
    sign_in(client, responsible)
    response = client.get(LIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Văn phòng HĐND và UBND xã Đơn Dương" in html
    assert "D&#x27;Ran" not in html
    assert "Thêm cơ quan, đơn vị" not in html
    # Out of scope is the same as not existing.
    assert client.get(f"{LIST}{commune_b.pk}/").status_code == 404
    assert client.get(f"{LIST}them/").status_code == 403
    assert client.get(f"{LIST}hop-nhat/").status_code == 403


def test_unknown_id_is_a_vietnamese_404(client, province_admin):
    sign_in(client, province_admin)
    response = client.get(f"{LIST}999999/")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.content.decode()


def test_list_query_count_is_bounded(
    client, province_admin, province, django_assert_max_num_queries
):
    for i in range(30):
        commune = make_org(f"UBND xã Thử {i}", OrganisationKind.COMMUNE_COMMITTEE, province)
        make_org(f"Văn phòng xã Thử {i}", OrganisationKind.UNIT, commune)
    sign_in(client, province_admin)
    client.get(LIST)  # warm-up (session, content types)
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.status_code == 200
    assert response.content.decode().count("org-name") >= 61


def test_list_search_and_pagination(client, province_admin, province):
    for i in range(105):
        make_org(f"Phòng số {i:03d}", OrganisationKind.UNIT, province)
    sign_in(client, province_admin)
    first = client.get(LIST).content.decode()
    assert "Trang 1/2" in first
    second = client.get(LIST + "?trang=2").content.decode()
    assert "Trang 2/2" in second
    found = client.get(LIST + "?q=số 042").content.decode()
    assert "Phòng số 042" in found and "Phòng số 041" not in found


def test_detail_shows_children_and_people(client, province_admin, commune_a, unit_a, responsible):
    sign_in(client, province_admin)
    response = client.get(f"{LIST}{commune_a.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Văn phòng HĐND và UBND xã Đơn Dương" in html
    assert "Sửa" in html
    unit_page = client.get(f"{LIST}{unit_a.pk}/").content.decode()
    assert "Nguyễn Văn An" in unit_page
    assert "Chuyên viên" in unit_page


def test_create_under_a_parent_with_admin_unit(client, commune_admin, commune_a):
    sign_in(client, commune_admin)
    commune_unit = AdministrativeUnit.objects.get(level="commune", name="Xã Đơn Dương")
    page = client.get(f"{LIST}them/?parent={commune_a.pk}")
    assert page.status_code == 200
    assert "UBND huyện (trước 01/07/2025)" in page.content.decode()  # dd/mm/yyyy
    response = client.post(
        f"{LIST}them/",
        {
            "parent": commune_a.pk,
            "name": "Phòng Kinh tế xã Đơn Dương",
            "kind": OrganisationKind.UNIT,
            "org_code": "000.11.39.h39",
            "province": commune_unit.parent_id,
            "commune": commune_unit.pk,
        },
    )
    assert response.status_code == 302
    org = Organisation.objects.get(name="Phòng Kinh tế xã Đơn Dương")
    assert response["Location"] == f"{LIST}{org.pk}/"
    assert org.parent == commune_a
    assert org.org_code == "000.11.39.H39"
    assert org.admin_unit == commune_unit
    assert org.path == f"{commune_a.path}{org.pk}/"
    assert AuditEntry.objects.filter(action="organisation.created", object_id=str(org.pk)).exists()


def test_create_outside_scope_is_refused(client, commune_admin, commune_b):
    sign_in(client, commune_admin)
    response = client.post(
        f"{LIST}them/",
        {"parent": commune_b.pk, "name": "Phòng lạ", "kind": OrganisationKind.UNIT},
    )
    assert response.status_code == 200  # form error: not a valid choice
    assert not Organisation.objects.filter(name="Phòng lạ").exists()


def test_service_error_is_shown_in_the_form(client, commune_admin, commune_a):
    sign_in(client, commune_admin)
    response = client.post(
        f"{LIST}them/",
        {"parent": commune_a.pk, "name": "Phòng sai mã", "kind": "unit", "org_code": "12345"},
    )
    assert response.status_code == 200
    assert "Mã định danh phải có dạng 000.00.00.H41" in response.content.decode()
    assert not Organisation.objects.filter(name="Phòng sai mã").exists()


def test_commune_options_for_a_province(client, province_admin, province):
    sign_in(client, province_admin)
    response = client.get(
        "/quan-tri/don-vi-hanh-chinh/xa/",
        {"province": province.admin_unit_id},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Xã Đơn Dương" in html
    assert (
        html.count("<option")
        == 1 + AdministrativeUnit.objects.filter(parent_id=province.admin_unit_id).count()
    )


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "-1", "x"])
def test_commune_options_for_a_province_that_is_not_an_id_are_empty(client, province_admin, value):
    sign_in(client, province_admin)
    response = client.get(
        "/quan-tri/don-vi-hanh-chinh/xa/", {"province": value}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().count("<option") == 1  # the placeholder only


def test_edit(client, commune_admin, commune_a):
    sign_in(client, commune_admin)
    page = client.get(f"{LIST}{commune_a.pk}/sua/")
    assert page.status_code == 200
    assert "Xã Đơn Dương" in page.content.decode()  # the current commune is preselected
    data = {
        "name": "UBND xã Đơn Dương (mới)",
        "kind": commune_a.kind,
        "org_code": commune_a.org_code,
        "province": commune_a.admin_unit.parent_id,
        "commune": commune_a.admin_unit_id,
        "phone": "0263 3848 000",
    }
    response = client.post(f"{LIST}{commune_a.pk}/sua/", data)
    assert response.status_code == 302
    commune_a.refresh_from_db()
    assert commune_a.name == "UBND xã Đơn Dương (mới)"
    assert commune_a.phone == "0263 3848 000"


def test_edit_out_of_scope_is_404(client, commune_admin, commune_b):
    sign_in(client, commune_admin)
    assert client.get(f"{LIST}{commune_b.pk}/sua/").status_code == 404


@pytest.fixture
def merge_setup(province, commune_a, commune_b, unit_a, responsible, other_commune_official):
    return {"sources": [commune_a, commune_b]}


def test_merge_through_the_page_with_confirmation(client, province_admin, province, merge_setup):
    commune_a, commune_b = merge_setup["sources"]
    target = make_org("UBND xã Đơn Dương mới", OrganisationKind.COMMUNE_COMMITTEE, province)
    sign_in(client, province_admin)
    today = timezone.localdate()
    data = {
        "sources": [commune_a.pk, commune_b.pk],
        "target": target.pk,
        "on_date": today.strftime("%d/%m/%Y"),
        "reason": "Nghị quyết 1671/NQ-UBTVQH15",
    }
    confirm = client.post(f"{LIST}hop-nhat/", data)
    html = confirm.content.decode()
    assert confirm.status_code == 200
    assert "Xác nhận hợp nhất" in html
    assert today.strftime("%d/%m/%Y") in html
    commune_a.refresh_from_db()
    assert commune_a.is_active  # nothing happens before the confirmation

    done = client.post(f"{LIST}hop-nhat/", {**data, "confirm": "1"})
    html = done.content.decode()
    assert done.status_code == 200
    assert "Kết quả hợp nhất" in html
    assert "Văn phòng HĐND và UBND xã Đơn Dương" in html  # the unit moved with its commune
    commune_a.refresh_from_db()
    commune_b.refresh_from_db()
    assert not commune_a.is_active and commune_a.merged_into == target
    assert not commune_b.is_active and commune_b.merged_into == target
    assert commune_a.dissolved_on == today
    # The official of commune B now works in the target.
    assert Position.objects.active().filter(organisation=target, role=Role.SPECIALIST).count() == 1
    assert AuditEntry.objects.filter(action="organisation.merged").count() == 2


def test_merge_errors_are_shown_and_nothing_changes(client, province_admin, commune_a, unit_a):
    sign_in(client, province_admin)
    response = client.post(
        f"{LIST}hop-nhat/",
        {
            "sources": [commune_a.pk],
            "target": unit_a.pk,  # into its own unit
            "on_date": "01/07/2025",
            "reason": "Thử",
            "confirm": "1",
        },
    )
    assert response.status_code == 200
    assert "Không thể hợp nhất một cơ quan vào chính nó" in response.content.decode()
    commune_a.refresh_from_db()
    assert commune_a.is_active


def test_merge_bad_date_is_a_form_error(client, province_admin, commune_a, commune_b):
    sign_in(client, province_admin)
    response = client.post(
        f"{LIST}hop-nhat/",
        {"sources": [commune_a.pk], "target": commune_b.pk, "on_date": "31/02/2025", "reason": "x"},
    )
    assert "Nhập ngày theo dạng dd/mm/yyyy." in response.content.decode()


def test_commune_admin_cannot_merge_other_commune(client, commune_admin, commune_a, commune_b):
    sign_in(client, commune_admin)
    page = client.get(f"{LIST}hop-nhat/").content.decode()
    assert "D&#x27;Ran" not in page
    response = client.post(
        f"{LIST}hop-nhat/",
        {
            "sources": [commune_b.pk],
            "target": commune_a.pk,
            "on_date": "01/07/2025",
            "reason": "x",
            "confirm": "1",
        },
    )
    assert response.status_code == 200
    commune_b.refresh_from_db()
    assert commune_b.is_active


def test_specialist_of_merged_commune_keeps_working(client, responsible, unit_a):
    make_official("phochutich.a", unit_a, Role.SPECIALIST)
    sign_in(client, responsible)
    assert client.get(LIST).status_code == 200
