"""System checks for what the platform needs on this machine (STYLE.md habit 8)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility, deploy=False)
def storage_writable(app_configs, **kwargs):
    errors = []
    location = settings.STORAGES["default"].get("OPTIONS", {}).get("location")
    if location:
        path = Path(location)
        try:
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".check-"):
                pass
        except OSError as exc:
            errors.append(
                Error(
                    f"Thư mục lưu tệp {path} không ghi được: {exc}",
                    hint="Tạo thư mục và cấp quyền ghi, hoặc đặt CQS_VAR_DIR.",
                    id="cqs.E001",
                )
            )
    return errors


@register(Tags.compatibility)
def libmagic_present(app_configs, **kwargs):
    try:
        import magic

        magic.from_buffer(b"%PDF-1.7\n", mime=True)
    except Exception as exc:  # ImportError or libmagic missing
        return [
            Error(
                f"Không dùng được libmagic để nhận diện kiểu tệp: {exc}",
                hint="apt-get install libmagic1",
                id="cqs.E002",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def secret_key_from_environment(app_configs, **kwargs):
    if not (os.environ.get("SECRET_KEY") or os.environ.get("SECRET_KEY_FILE")):
        return [
            Warning(
                "SECRET_KEY không được đặt qua biến môi trường; đang dùng khóa sinh ngẫu nhiên "
                "lưu trong var/secret_key của máy này.",
                hint="Đặt SECRET_KEY hoặc SECRET_KEY_FILE khi triển khai nhiều máy chủ.",
                id="cqs.W001",
            )
        ]
    return []
