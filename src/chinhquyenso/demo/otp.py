"""Second factor for the demo accounts: TOTP secrets anyone can recompute from the username.

Leaders and administrators must pass TOTP (issue #2, point 5). So that a tester can sign in as
them without enrolling a phone first, the demo gives each of them a confirmed device whose key is
HMAC-SHA1(key="cqs-demo-totp", message=username): deterministic and public, hence only ever
for demo data. `manage.py demo_otp USERNAME` prints the current code. A device counts as a demo
device only when both its name and its key match, so an account whose holder enrolled a real
authenticator (which removes the other devices) is no longer served by `demo_otp`.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

DEMO_DEVICE_NAME = "Demo TOTP"
_KEY_LABEL = b"cqs-demo-totp"


def demo_totp_key(username: str) -> str:
    """The hex key (20 bytes, as TOTPDevice stores it) of `username`'s demo device."""
    return hmac.new(_KEY_LABEL, username.encode("utf-8"), hashlib.sha1).hexdigest()


def is_demo_device(device: TOTPDevice) -> bool:
    return (
        device.name == DEMO_DEVICE_NAME
        and device.confirmed
        and hmac.compare_digest(device.key, demo_totp_key(device.user.get_username()))
    )


def demo_device_for(user) -> TOTPDevice | None:
    """The user's demo device, or None when the account is not (or no longer) a demo one."""
    for device in TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE_NAME, confirmed=True):
        if is_demo_device(device):
            return device
    return None


def current_code(device: TOTPDevice, at: float | None = None) -> tuple[str, int]:
    """The code an authenticator app shows now (drift 0), and the seconds it stays valid."""
    now = time.time() if at is None else at
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, drift=0)
    totp.time = now
    code = str(totp.token()).zfill(device.digits)
    remaining = device.step - int(now - device.t0) % device.step
    return code, remaining
