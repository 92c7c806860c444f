"""Helpers for the page tests, imported by the other test_pages_* modules (and one check of them).

* `sign_in`: a persona signed in; leaders and administrators also pass the second factor with
  a confirmed TOTP device, as the real login would leave them.
"""

from __future__ import annotations

import time

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from chinhquyenso.core.services.people import requires_second_factor


def totp_device(user, *, confirmed=True) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Điện thoại", confirmed=confirmed)


def current_token(device: TOTPDevice, *, offset_steps: int = 0) -> str:
    """The code the person's phone shows now (or `offset_steps` steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset_steps * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client, user):
    """Sign `user` in; with a verified TOTP device when their role requires one."""
    client.force_login(user)
    if requires_second_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or totp_device(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


def test_support_module_signs_in_with_second_factor(client, leader):
    sign_in(client, leader)
    response = client.get("/")
    assert response.status_code == 200
