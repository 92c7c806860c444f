"""The "done when" of issue #3, second half, in a real browser: a dossier received at Xã Đơn
Dương is transferred (liên thông) to Sở Tư pháp from the dossier page, handled there by the
department's desk and specialist, and comes back: the commune's dossier continues at its next
step and is returned at the desk. Both sides see each other's progress on their pages. Only the
pages are used; the set-up (organisations, officials, procedure and processes) comes from the
dossier fixtures."""

from __future__ import annotations

import re

import pytest

from chinhquyenso.dossiers.models import Dossier, Status
from tests.dossiers import conftest as dossier_fixtures
from tests.e2e.test_one_stop import _isolated, do, signed_in, state

# The dossier tests' world: Xã Đơn Dương with its desk and office, Sở Tư pháp with its desk
# and Phòng Hành chính tư pháp, and the liên thông procedure with a process on each side.
desk_unit_a = dossier_fixtures.desk_unit_a
desk_officer = dossier_fixtures.desk_officer
department = dossier_fixtures.department
department_unit = dossier_fixtures.department_unit
department_desk = dossier_fixtures.department_desk
department_specialist = dossier_fixtures.department_specialist
transfer_world = dossier_fixtures.transfer_world
isolated = _isolated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_transfer_to_the_department_and_back_through_the_pages(
    browser,
    live_server,
    transfer_world,
    desk_officer,
    responsible,
    department,
    department_desk,
    department_specialist,
    screenshot,
):
    base = live_server.url

    # 1. Received at Xã Đơn Dương's desk and handed to the appraisal.
    desk = signed_in(browser, base, desk_officer)
    desk.goto(f"{base}/ho-so/tiep-nhan/?thu_tuc=2.000986")
    desk.fill("#id_id_number", "068090001234")
    desk.fill("#id_name", "Đặng Thị Hoa")
    desk.fill("#id_phone", "0912345678")
    desk.check("#id_doc_0")
    desk.check("#id_doc_1")
    desk.click("button[type=submit]:has-text('Tiếp nhận hồ sơ')")
    desk.wait_for_url(re.compile(r".*/ho-so/[^/]+-\d{6}-\d{4}/$"))
    code = desk.locator("#ma-ho-so").inner_text()
    parent_url = f"{base}/ho-so/{code}/"
    do(desk, "forward", comment="Hồ sơ hợp lệ")

    # 2. The commune's specialist claims it and transfers it to Sở Tư pháp.
    specialist = signed_in(browser, base, responsible)
    specialist.goto(parent_url)
    do(specialist, "claim")
    do(specialist, "transfer", to_organisation=department.pk, comment="Đề nghị Sở thẩm định")
    row = specialist.locator("#lien-thong tr.ho-so-lien-thong")
    assert "Sở Tư pháp" in row.inner_text() and "Tiếp nhận hồ sơ liên thông" in row.inner_text()
    child_code = row.locator("a").inner_text()
    child = Dossier.objects.get(code=child_code)
    assert child.parent.code == code
    screenshot(specialist, "transfer-01-parent-waiting")

    # 3. The department's desk opens the child from its queue and hands it to the appraisal.
    dept_desk = signed_in(browser, base, department_desk)
    dept_desk.click("#cqs-nav .nav-link:has-text('Hồ sơ của tôi')")
    dept_desk.locator("#bang-ho-so a", has_text=child_code).click()
    assert code in dept_desk.locator("#ho-so-goc").inner_text()  # the child shows its parent
    do(dept_desk, "forward", comment="Chuyển phòng chuyên môn")

    # 4. The department's specialist claims it and sends the result back.
    dept_specialist = signed_in(browser, base, department_specialist)
    dept_specialist.goto(f"{base}/ho-so/{child_code}/")
    do(dept_specialist, "claim")
    do(dept_specialist, "return_to_desk", comment="Đủ điều kiện")
    assert state(child_code).status == Status.RETURNED

    # 5. Back at the commune: the parent continues at its next step, then is returned.
    specialist.goto(parent_url)
    assert "Đã trả kết quả" in specialist.locator("#lien-thong").inner_text()
    assert state(code).current_step.name == "Hoàn thiện kết quả"
    screenshot(specialist, "transfer-02-parent-continues")
    do(specialist, "claim")
    do(specialist, "return_to_desk", comment="Đã hoàn thiện")
    assert state(code).status == Status.RESOLVED
    desk.goto(parent_url)
    do(desk, "return_result", method="desk", recipient="Đặng Thị Hoa")
    assert state(code).status == Status.RETURNED
    for p in (desk, specialist, dept_desk, dept_specialist):
        p.context.close()
