"""In a real browser: a leader signs in with password and TOTP code; an administrator adds a
calendar override through the page and sees it in the list."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.models import CalendarOverride
from tests.conftest import PASSWORD
from tests.core.test_pages_support import current_token

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sign_in(page, base_url: str, username: str, device: TOTPDevice) -> None:
    page.goto(f"{base_url}/")
    assert "/dang-nhap/" in page.url  # anonymous: sent to the login page
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Đăng nhập')")
    page.wait_for_url("**/xac-thuc/**")
    page.fill("#id_token", current_token(device))
    page.click("button[type=submit]:has-text('Xác thực')")


def assert_styled(page) -> None:
    """Bootstrap and htmx were loaded from our static files (no CDN)."""
    assert page.evaluate("() => typeof window.bootstrap === 'object'")
    assert page.evaluate("() => typeof window.htmx === 'object'")
    navbar_display = page.eval_on_selector(".navbar", "el => getComputedStyle(el).display")
    assert navbar_display == "flex"


def test_leader_signs_in_with_password_and_totp(page, live_server, leader, screenshot):
    device = TOTPDevice.objects.create(user=leader, name="Điện thoại", confirmed=True)
    page.goto(f"{live_server.url}/dang-nhap/")
    assert page.get_attribute("html", "lang") == "vi"
    screenshot(page, "01-login")
    sign_in(page, live_server.url, "chutich", device)
    page.wait_for_url(f"{live_server.url}/")
    assert page.locator("h1").inner_text() == "Xin chào, Võ Minh Giang"
    assert "UBND tỉnh Lâm Đồng" in page.content()
    assert_styled(page)
    screenshot(page, "02-home-leader")

    page.set_viewport_size({"width": 390, "height": 844})
    toggler = page.locator(".navbar-toggler")
    assert toggler.is_visible()
    toggler.click()
    page.locator("#cqs-nav .nav-link", has_text="Cơ quan, đơn vị").wait_for(state="visible")
    screenshot(page, "03-home-leader-390")


def test_admin_adds_a_calendar_override(page, live_server, province_admin, screenshot):
    device = TOTPDevice.objects.create(user=province_admin, name="Điện thoại", confirmed=True)
    sign_in(page, live_server.url, "quantri.tinh", device)
    page.wait_for_url(f"{live_server.url}/")
    page.click("#cqs-nav .nav-link:has-text('Lịch làm việc')")
    page.wait_for_url("**/quan-tri/lich-lam-viec/")
    assert_styled(page)

    page.fill("#id_date", "02/01/2026")
    page.select_option("#id_kind", "day_off")
    page.fill("#id_reason", "Thông báo nghỉ bù của Bộ Nội vụ")
    page.click("#them-dieu-chinh button[type=submit]")
    page.wait_for_url("**/quan-tri/lich-lam-viec/?nam=2026")

    row = page.locator("#overrides tbody tr", has_text="Thông báo nghỉ bù của Bộ Nội vụ")
    assert row.count() == 1
    assert "02/01/2026" in row.inner_text()
    assert "Đã thêm điều chỉnh lịch ngày 02/01/2026." in page.locator(".alert-success").inner_text()
    assert CalendarOverride.objects.filter(reason="Thông báo nghỉ bù của Bộ Nội vụ").exists()
    screenshot(page, "04-calendar")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "05-calendar-390")
