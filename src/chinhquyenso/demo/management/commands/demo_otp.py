"""`manage.py demo_otp USERNAME [--url]`: the current TOTP code of a demo account."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.models import User
from chinhquyenso.core.services.people import requires_second_factor
from chinhquyenso.demo.generator import demo_usernames
from chinhquyenso.demo.otp import current_code, demo_device_for


class Command(BaseCommand):
    help = "In mã OTP hiện tại của một tài khoản mẫu (chỉ tài khoản do load_demo tạo)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="Tên đăng nhập, ví dụ chutich.donduong")
        parser.add_argument(
            "--url",
            action="store_true",
            help="In thêm đường dẫn otpauth:// để thêm vào ứng dụng xác thực.",
        )

    def handle(self, *args, username: str, url: bool, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Không có tài khoản {username}.")
        device = demo_device_for(user)
        if device is None and username in demo_usernames() and not requires_second_factor(user):
            raise CommandError(
                f"{username} là tài khoản mẫu nhưng không phải lãnh đạo hay quản trị: "
                "đăng nhập chỉ cần mật khẩu, không cần mã OTP."
            )
        if device is None:
            raise CommandError(
                f"{username} không phải tài khoản mẫu có OTP mẫu: chỉ lãnh đạo và quản trị do "
                "load_demo tạo (và chưa tự đăng ký ứng dụng xác thực riêng) mới có mã in ra "
                "được. Mã OTP của tài khoản thật chỉ có trên thiết bị của người dùng."
            )
        code, remaining = current_code(device)
        self.stdout.write(code)
        self.stderr.write(f"(còn hiệu lực khoảng {remaining} giây; mỗi mã chỉ dùng được một lần)")
        if url:
            self.stdout.write(device.config_url)
