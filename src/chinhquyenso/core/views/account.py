"""Sign in (password, then TOTP), TOTP enrolment, sign out (issue #2, point 5).

Step 1 is the password (`LoginForm` → `authenticate(request, ...)`, so django-axes counts
failures and locks out). A leader or administrator (`requires_second_factor`), or an official
who enrolled a device of their own accord, then goes to step 2: a TOTP code checked by the
device (`TOTPDevice.verify_token`, which throttles repeated failures) and persisted in the
session with `django_otp.login`. `SecondFactorMiddleware` keeps a leader or administrator who
has not passed step 2 on these pages.
"""

from __future__ import annotations

import base64
from functools import wraps
from urllib.parse import urlencode

import django_otp
import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.forms import LoginForm, TokenForm
from chinhquyenso.core.services import people

ENROL_SESSION_KEY = "cqs_totp_enrol_device"


# --- Helpers shared by every page ------------------------------------------------------------


def safe_next(request, value: str | None) -> str | None:
    """`value` when it is a URL on this site (a path, or an absolute URL to our own host);
    None otherwise, so `next` can never send someone to another site."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None


def _with_next(url: str, next_url: str | None) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _session_expired(request) -> bool:
    """The browser sent a session cookie, but the session behind it is gone (expired on the
    server, or cleared): the person was signed in and is not any more."""
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return False
    session = request.session
    session.get("_probe")  # make sure the session has been loaded
    return session.is_empty()


def redirect_to_login_page(request):
    """The login page, coming back here afterwards; with a note when the session expired.
    An htmx request gets an `HX-Redirect` so the whole page goes to the login form."""
    if _session_expired(request):
        messages.warning(request, _("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."))
    response = redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
    if getattr(request, "htmx", False):
        return HttpResponse(status=204, headers={"HX-Redirect": response["Location"]})
    return response


def login_required_page(view):
    """Like `login_required`, with the expired-session message and htmx handling."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login_page(request)
        return view(request, *args, **kwargs)

    return wrapped


def _after_login_url(user, next_url: str | None) -> str:
    """Where a person goes once the password was right."""
    device = people.confirmed_totp(user)
    if device is not None:
        return _with_next(reverse("core:otp"), next_url)
    if people.requires_second_factor(user):
        return _with_next(reverse("core:otp_enrol"), next_url)
    return next_url or reverse("core:home")


# --- Step 1: password ------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or reverse("core:home"))
    if request.method == "GET" and _session_expired(request) and next_url:
        messages.warning(request, _("Phiên làm việc đã hết hạn, vui lòng đăng nhập lại."))
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        auth_login(request, user)
        return redirect(_after_login_url(user, next_url))
    return render(request, "core/login.html", {"form": form, "next": next_url or ""})


@require_http_methods(["GET", "POST"])
def logout_view(request):
    if request.method == "POST":
        auth_logout(request)
        messages.info(request, _("Bạn đã đăng xuất."))
        return redirect("core:login")
    if not request.user.is_authenticated:
        return redirect("core:login")
    return render(request, "core/logout.html")


# --- Step 2: the TOTP code ---------------------------------------------------------------------


def _throttle_message(info: dict | None) -> str:
    locked_until = (info or {}).get("locked_until")
    if locked_until is not None:
        seconds = max(1, int((locked_until - timezone.now()).total_seconds()) + 1)
        return _("Bạn đã nhập sai mã nhiều lần. Vui lòng đợi %(seconds)s giây rồi thử lại.") % {
            "seconds": seconds
        }
    return _("Tạm thời chưa thể xác thực. Vui lòng thử lại sau ít phút.")


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
def otp_view(request):
    if not request.user.is_authenticated:
        return redirect_to_login_page(request)
    user = request.user
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if user.is_verified():
        return redirect(next_url or reverse("core:home"))
    device = people.confirmed_totp(user)
    if device is None:
        return redirect(_with_next(reverse("core:otp_enrol"), next_url))
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        allowed, info = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _throttle_message(info))
        elif device.verify_token(form.cleaned_data["token"]):
            django_otp.login(request, device)
            request.session.cycle_key()
            return redirect(next_url or reverse("core:home"))
        else:
            form.add_error(
                "token",
                _(
                    "Mã xác thực không đúng hoặc đã hết hạn. Hãy nhập mã đang hiển thị trên "
                    "ứng dụng xác thực."
                ),
            )
    return render(request, "core/otp.html", {"form": form, "next": next_url or ""})


# --- TOTP enrolment ----------------------------------------------------------------------------


def _pending_device(request, user, *, fresh: bool) -> TOTPDevice:
    """The unconfirmed device being enrolled in this session, or a new one (new secret)."""
    device_id = request.session.get(ENROL_SESSION_KEY)
    device = None
    if device_id and not fresh:
        device = TOTPDevice.objects.filter(pk=device_id, user=user, confirmed=False).first()
    if device is None:
        device = people.start_totp_enrolment(user=user)
        request.session[ENROL_SESSION_KEY] = device.pk
    return device


def _enrolment_context(device: TOTPDevice) -> dict:
    url = device.config_url
    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=5, border=2, title=_("Mã QR đăng ký ứng dụng xác thực"))
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"qr_svg": mark_safe(svg), "secret": grouped, "otpauth_url": url}  # noqa: S308


@sensitive_post_parameters("token")
@csrf_protect
@never_cache
def otp_enrol_view(request):
    if not request.user.is_authenticated:
        return redirect_to_login_page(request)
    user = request.user
    if not (user.is_official or user.is_superuser):
        raise PermissionDenied
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    current = people.confirmed_totp(user)
    if current is not None and not user.is_verified():
        # Replacing a device needs the current one first: otherwise a stolen password would be
        # enough to enrol the thief's phone.
        return redirect(_with_next(reverse("core:otp"), next_url))
    if current is not None and request.method == "GET" and "moi" not in request.GET:
        return render(request, "core/otp_enrol.html", {"enrolled": current, "next": next_url})

    form = TokenForm(request.POST if request.method == "POST" else None)
    device = _pending_device(request, user, fresh=request.method == "GET" and "moi" in request.GET)
    if request.method == "POST" and form.is_valid():
        allowed, info = device.verify_is_allowed()
        if not allowed:
            form.add_error("token", _throttle_message(info))
        else:
            try:
                confirmed = people.confirm_totp_enrolment(
                    user=user, device=device, token=form.cleaned_data["token"]
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                if confirmed:
                    request.session.pop(ENROL_SESSION_KEY, None)
                    django_otp.login(request, device)
                    request.session.cycle_key()
                    messages.success(
                        request,
                        _(
                            "Đã bật xác thực hai bước. Từ nay khi đăng nhập, hãy nhập mã "
                            "trên ứng dụng."
                        ),
                    )
                    return redirect(next_url or reverse("core:home"))
                form.add_error(
                    "token",
                    _("Mã xác thực không đúng. Kiểm tra giờ trên điện thoại và nhập mã mới nhất."),
                )
    context = {
        "form": form,
        "next": next_url or "",
        "required": people.requires_second_factor(user),
    }
    context.update(_enrolment_context(device))
    return render(request, "core/otp_enrol.html", context)


urlpatterns = [
    path("dang-nhap/", login_view, name="login"),
    path("dang-xuat/", logout_view, name="logout"),
    path("xac-thuc/", otp_view, name="otp"),
    path("xac-thuc/dang-ky/", otp_enrol_view, name="otp_enrol"),
]
