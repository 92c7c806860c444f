"""The "done when" of issue #3 in a real browser: a birth registration (1.001193) at Xã Đơn
Dương is received at the desk page, routed through three steps, sent for supplement, resumed,
approved, returned by post, rated on the kiosk page and looked up by its code on /tra-cuu/
from a phone-sized browser. Only the pages are used; the set-up (organisations, officials
with TOTP, the procedure and its process) comes from fixtures and services."""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.services.people import requires_second_factor
from chinhquyenso.dossiers.models import Dossier, Rating, Status
from tests.conftest import PASSWORD
from tests.core.test_pages_support import current_token
from tests.dossiers import conftest as dossier_fixtures

# The one-stop world of the dossier tests (Xã Đơn Dương, its desk, units and officials, the
# birth registration procedure and its five-step process), reused as fixtures here.
birth = dossier_fixtures.birth
desk_unit_a = dossier_fixtures.desk_unit_a
desk_officer = dossier_fixtures.desk_officer
unit_head = dossier_fixtures.unit_head
commune_leader = dossier_fixtures.commune_leader

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "files")},
        },
    }
    settings.VAR_DIR = tmp_path
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def signed_in(browser, base_url: str, user, *, viewport=(1280, 900)):
    """A fresh browser context with `user` signed in through the login page (and TOTP)."""
    context = browser.new_context(
        locale="vi-VN", viewport={"width": viewport[0], "height": viewport[1]}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    device = None
    if requires_second_factor(user):
        device = TOTPDevice.objects.create(user=user, name="Điện thoại", confirmed=True)
    page.goto(f"{base_url}/dang-nhap/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Đăng nhập')")
    if device is not None:
        page.wait_for_url("**/xac-thuc/**")
        page.fill("#id_token", current_token(device))
        page.click("button[type=submit]:has-text('Xác thực')")
    page.wait_for_url(f"{base_url}/")
    return page


def do(page, action: str, **fields) -> None:
    """Open the action's panel on the dossier page, fill it in and submit it."""
    box = page.locator(f"#thao-tac-{action}")
    summary = box.locator("summary")
    if summary.count():
        summary.click()
    for name, value in fields.items():
        target = box.locator(f"[name='{action}-{name}']")
        tag = target.first.evaluate("el => el.tagName + ':' + (el.type || '')")
        if tag.startswith("SELECT"):
            target.select_option(str(value))
        elif tag.endswith("checkbox"):
            box.locator(f"[name='{action}-{name}'][value='{value}']").check()
        else:
            target.fill(str(value))
    with page.expect_navigation():
        box.locator("button[type=submit]").click()
    assert page.locator(".alert-success").count() == 1, page.locator(".alert").all_inner_texts()


def state(code: str) -> Dossier:
    return Dossier.objects.select_related("current_step").get(code=code)


def test_birth_registration_through_the_one_stop_pages(
    browser, live_server, birth, desk_officer, responsible, unit_head, commune_leader, screenshot
):
    base = live_server.url

    # 1. Received at the desk: search the procedure (htmx), fill in the form.
    desk = signed_in(browser, base, desk_officer)
    desk.click("#cqs-nav .nav-link:has-text('Tiếp nhận hồ sơ')")
    desk.fill("input[name=q]", "khai sinh")
    desk.locator("#danh-sach-thu-tuc a", has_text="1.001193").click()
    desk.wait_for_url("**/ho-so/tiep-nhan/?thu_tuc=1.001193*")
    assert "Không yêu cầu nộp — đã có dữ liệu" in desk.content()
    desk.fill("#id_id_number", "068090001234")
    desk.fill("#id_name", "Đặng Thị Hoa")
    desk.fill("#id_phone", "0912345678")
    desk.fill("#id_address", "Thôn Lạc Thạnh, xã Đơn Dương, tỉnh Lâm Đồng")
    desk.select_option("#id_result_delivery", "post")
    desk.check("#id_doc_0")
    desk.check("#id_doc_1")
    screenshot(desk, "one-stop-01-intake")
    desk.click("button[type=submit]:has-text('Tiếp nhận hồ sơ')")
    desk.wait_for_url(re.compile(r".*/ho-so/[^/]+-\d{6}-\d{4}/$"))
    code = desk.locator("#ma-ho-so").inner_text()
    assert desk.locator("#in-mau-01").is_visible()
    assert state(code).status == Status.RECEIVED
    detail = f"{base}/ho-so/{code}/"

    # 2. Step 1 → 2 (the desk hands it to the appraisal).
    do(desk, "forward", comment="Hồ sơ hợp lệ")
    assert state(code).current_step.order == 2

    # 3. The specialist claims it and asks for a supplement (the clock stops).
    specialist = signed_in(browser, base, responsible)
    specialist.click("#cqs-nav .nav-link:has-text('Hồ sơ của tôi')")
    specialist.locator("#bang-ho-so a", has_text=code).click()
    do(specialist, "claim")
    do(
        specialist,
        "request_supplement",
        reason="Giấy chứng sinh bị mờ, không đọc được",
        missing="Giấy chứng sinh",
    )
    assert state(code).status == Status.AWAITING_SUPPLEMENT

    # 4. The applicant brings it back to the desk: resumed.
    desk.goto(detail)
    do(desk, "receive_supplement", comment="Đã nộp bản rõ")
    assert state(code).status == Status.PROCESSING

    # 5. Step 2 → 3 → 4: appraisal, review by the unit head, approval by the chairman.
    specialist.goto(detail)
    do(specialist, "forward", comment="Đủ điều kiện đăng ký")
    head = signed_in(browser, base, unit_head)
    head.goto(detail)
    do(head, "forward", comment="Trình lãnh đạo ký")
    assert state(code).current_step.order == 4
    chairman = signed_in(browser, base, commune_leader)
    chairman.goto(detail)
    screenshot(chairman, "one-stop-02-approve")
    do(chairman, "approve", comment="Đồng ý")
    assert state(code).status == Status.RESOLVED

    # 6. Returned by post (the simulator issues the tracking number), then rated at the desk.
    desk.goto(detail)
    do(desk, "return_result", method="post")
    dossier = state(code)
    assert dossier.status == Status.RETURNED and dossier.postal_tracking
    screenshot(desk, "one-stop-03-returned")
    desk.click("#mo-danh-gia")
    desk.set_viewport_size({"width": 1024, "height": 768})  # the desk's tablet
    screenshot(desk, "one-stop-04-kiosk")
    desk.click("button[name=level][value='3']")
    desk.locator("#cam-on").wait_for()
    assert Rating.objects.get(dossier=dossier).level == 3

    # 7. Looked up by its code from a phone, without signing in.
    context = browser.new_context(locale="vi-VN", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    phone.goto(f"{base}/tra-cuu/")
    phone.fill("#ma-ho-so", code)
    phone.click("button[type=submit]:has-text('Tra cứu')")
    phone.wait_for_url(f"**/tra-cuu/{code}/")
    text = phone.locator("main").inner_text()
    assert "Đã trả kết quả" in text
    assert "Đặng Thị Hoa" not in text
    screenshot(phone, "one-stop-05-lookup-390")
    context.close()
    for p in (desk, specialist, head, chairman):
        p.context.close()
