"""`cqs pki_services [--bind 127.0.0.1:8001]`: the demo CAs' CRL, OCSP and time-stamp services.

Serves `signing.pki_services` for the demo PKI under VAR_DIR/pki (made by `cqs load_demo`, or
here when missing) at the URLs its certificates name (signing.demo.DEMO_PKI_URL). `cqs demo`
starts it next to the web server and the worker. Demo only: never a production CA.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.signing import demo, pki_services


class Command(BaseCommand):
    help = "Dịch vụ CRL, OCSP và cấp dấu thời gian (TSA) của PKI thử nghiệm (chỉ dùng cho demo)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8001", help="địa chỉ:cổng lắng nghe")

    def handle(self, *args, bind: str, **options):
        host, _, port = bind.rpartition(":")
        if not host or not (port.isascii() and port.isdigit()):  # "²".isdigit() is true
            raise CommandError(f"--bind không hợp lệ: {bind!r} (ví dụ 127.0.0.1:8001)")
        pki, created = demo.ensure_pki(Path(settings.VAR_DIR))
        if created:
            self.stderr.write(
                "Đã tạo PKI thử nghiệm mới; chạy `cqs load_demo` để đưa CA gốc vào kho tin cậy."
            )
        app = pki.services()
        server = pki_services.make_wsgi_server(app, host, int(port))
        base = f"http://{bind}"
        if base != demo.DEMO_PKI_URL:
            self.stderr.write(
                f"Lưu ý: chứng thư demo trỏ tới {demo.DEMO_PKI_URL}, dịch vụ đang chạy ở {base}."
            )
        self.stdout.write(
            f"PKI thử nghiệm (DEMO): CRL {base}/crl/root.crl, {base}/crl/issuing.crl · "
            f"OCSP {base}/ocsp · TSA {base}/tsa"
        )
        try:
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the service
                server.serve_forever()
        finally:
            server.server_close()
