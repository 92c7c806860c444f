"""`cqs remote_sign_simulator --bind 127.0.0.1:8002 --keys DIR [--auto-confirm]`

Run the local remote-signing service (signing/remote_simulator.py): CSC v2 endpoints for the
adapter, and http://<bind>/confirm where the holder approves or refuses requests (the phone).
`--demo-keys` fills DIR with the demo PKI's holders (user id = demo user name, PIN = the demo
password). The Bearer token is SIGNING_REMOTE_TOKEN (or SIGNING_REMOTE_TOKEN_FILE); without
one, a token is generated and printed once so the operator can configure the web server.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.signing.remote_simulator import Simulator, make_simulator_server


class Command(BaseCommand):
    help = "Chạy dịch vụ ký số từ xa mô phỏng (CSC API v2) với trang xác nhận /confirm."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8002", help="Địa chỉ:cổng lắng nghe")
        parser.add_argument(
            "--keys",
            default=str(Path(settings.VAR_DIR) / "remote-sign"),
            help="Thư mục khóa: <mã người dùng>.p12 (mật khẩu = PIN) và <mã người dùng>.pem",
        )
        parser.add_argument(
            "--auto-confirm", action="store_true", help="Tự động đồng ý mọi yêu cầu (trình diễn)"
        )
        parser.add_argument(
            "--confirm-timeout", type=float, default=120.0, help="Số giây chờ người ký xác nhận"
        )
        parser.add_argument(
            "--demo-keys",
            action="store_true",
            help="Chép khóa của các cán bộ trong PKI demo vào thư mục khóa",
        )

    def handle(self, *args, bind, keys, auto_confirm, confirm_timeout, demo_keys, **options):
        host, _, port = bind.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()):  # "²".isdigit() is true
            raise CommandError("--bind phải có dạng địa chỉ:cổng, ví dụ 127.0.0.1:8002.")
        directory = Path(keys)
        directory.mkdir(parents=True, exist_ok=True)
        if demo_keys:
            self._copy_demo_keys(directory)
        token = getattr(settings, "SIGNING_REMOTE_TOKEN", "")
        if not token:
            token = secrets.token_urlsafe(24)
            self.stdout.write(
                f"Chưa có SIGNING_REMOTE_TOKEN; mã truy cập cho lần chạy này: {token}"
            )
        app = Simulator(
            keys_dir=directory,
            token=token,
            auto_confirm=auto_confirm,
            confirm_timeout=confirm_timeout,
        )
        if not app.holders:
            self.stderr.write(f"Cảnh báo: thư mục {directory} chưa có khóa nào (<mã>.p12 + .pem).")
        server = make_simulator_server(app, host, int(port))
        self.stdout.write(
            f"Dịch vụ ký số từ xa mô phỏng: http://{bind}/csc/v2/ — "
            f"{len(app.holders)} người ký; trang xác nhận http://{bind}/confirm"
        )
        try:
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the service
                server.serve_forever()
        finally:
            server.server_close()

    def _copy_demo_keys(self, directory: Path) -> None:
        from chinhquyenso.signing import demo

        pki, _created = demo.ensure_pki(Path(settings.VAR_DIR))
        for identity in demo.IDENTITIES:
            if not identity.username:
                continue
            (directory / f"{identity.username}.p12").write_bytes(pki.p12(identity.key))
            chain = [pki.certs[identity.key], pki.certs["issuing"], pki.certs["root"]]
            (directory / f"{identity.username}.pem").write_bytes(
                b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
            )
