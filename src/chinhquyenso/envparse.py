"""Strict, typed reading of environment variables.

A malformed value stops start-up with a message that names the variable (issue #2, point 2).
`NAME_FILE` may hold the path of a file containing the value (for container secrets).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

SUPPORTED_DATABASE_ENGINES = {
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def raw(name: str) -> str | None:
    """The raw value of `name`, or of the file named by `name_FILE`, or None."""
    if name in os.environ:
        return os.environ[name]
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: không đọc được tệp {path!r} ({exc})") from exc
    return None


def string(name: str, default: str | None = None) -> str:
    value = raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Thiếu biến môi trường {name}")
        return default
    return value


def boolean(name: str, default: bool) -> bool:
    value = raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Biến môi trường {name}={value!r} không hợp lệ: dùng true/false, 1/0, yes/no, on/off"
    )


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = raw(name)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(
            f"Biến môi trường {name}={value!r} không hợp lệ: cần một số nguyên"
        ) from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"Biến môi trường {name}={number} phải ≥ {minimum}")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def choice(name: str, default: str, choices: set[str]) -> str:
    value = string(name, default)
    if value not in choices:
        raise ImproperlyConfigured(
            f"Biến môi trường {name}={value!r} không hợp lệ: một trong {sorted(choices)}"
        )
    return value


def clock_time(name: str, default: str) -> str:
    """A time of day written HH:MM (24-hour)."""
    value = string(name, default).strip()
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ImproperlyConfigured(
            f"Biến môi trường {name}={value!r} không hợp lệ: cần giờ dạng HH:MM, ví dụ 15:00"
        )
    return value


def database(name: str, default: str) -> dict:
    value = string(name, default)
    try:
        config = environ.Env.db_url_config(value)
    except Exception as exc:  # environ raises several types for a bad URL
        raise ImproperlyConfigured(f"Biến môi trường {name}={value!r} không hợp lệ: {exc}") from exc
    engine = config.get("ENGINE") or ""
    if engine not in SUPPORTED_DATABASE_ENGINES:
        raise ImproperlyConfigured(
            f"Biến môi trường {name}={value!r}: chỉ hỗ trợ sqlite:/// và postgres://"
        )
    return config


def email(name: str, default: str) -> dict:
    value = string(name, default)
    try:
        return environ.Env.email_url_config(value)
    except Exception as exc:
        raise ImproperlyConfigured(f"Biến môi trường {name}={value!r} không hợp lệ: {exc}") from exc
