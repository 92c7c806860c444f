"""Keep a signed-in leader or administrator who has not passed the second factor on the OTP
pages (issue #2, point 5)."""

from __future__ import annotations

from django.shortcuts import redirect
from django.urls import reverse

ALLOWED_PREFIXES = ("/static/", "/api/", "/favicon")


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(ALLOWED_PREFIXES)
        ):
            from chinhquyenso.core.services.people import confirmed_totp, requires_second_factor

            # Required for leaders and administrators; and anyone who enrolled a device
            # voluntarily must use it too, or the second factor could be skipped by URL.
            device = confirmed_totp(user) if not user.is_verified() else None
            if not user.is_verified() and (device or requires_second_factor(user)):
                allowed = {
                    reverse("core:otp"),
                    reverse("core:otp_enrol"),
                    reverse("core:logout"),
                }
                if request.path not in allowed:
                    target = "core:otp" if device else "core:otp_enrol"
                    return redirect(target)
        return self.get_response(request)


class VietnameseFirstMiddleware:
    """Serve Vietnamese unless the person chose another language (the language cookie set by
    /i18n/setlang/). The browser's Accept-Language is ignored: an official whose browser is
    in English still works in the language of the administration."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
