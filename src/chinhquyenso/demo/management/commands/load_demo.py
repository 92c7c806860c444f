"""`manage.py load_demo`: create (or complete) the Lâm Đồng demo data, then list the accounts."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from chinhquyenso.demo import generator, one_stop
from chinhquyenso.demo.plan import DEFAULT_SEED
from chinhquyenso.signing import seal
from chinhquyenso.signing.demo import load_demo_signatures

LABELS = {
    "superuser": "quản trị gốc",
    "organisation": "cơ quan, đơn vị",
    "historical merge": "hợp nhất lịch sử",
    "official": "cán bộ",
    "position (kiêm nhiệm)": "vị trí kiêm nhiệm",
    "demo TOTP": "thiết bị OTP mẫu",
    "citizen": "công dân",
    "business": "doanh nghiệp",
}


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


class Command(BaseCommand):
    help = "Nạp dữ liệu mẫu tỉnh Lâm Đồng (chạy lại nhiều lần vẫn cho cùng một dữ liệu)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help="Hạt giống ngẫu nhiên (mặc định cố định).",
        )
        parser.add_argument(
            "--dossiers",
            type=int,
            default=one_stop.DOSSIERS,
            help=f"Số hồ sơ một cửa mẫu (mặc định {one_stop.DOSSIERS}).",
        )

    def handle(self, *args, seed: int, dossiers: int, **options):
        report = generator.load(seed=seed)
        created = ", ".join(f"{n} {LABELS.get(k, k)}" for k, n in report.created.items() if n)
        updated = ", ".join(f"{n} {LABELS.get(k, k)}" for k, n in report.updated.items() if n)
        unchanged = ", ".join(f"{n} {LABELS.get(k, k)}" for k, n in report.unchanged.items() if n)
        desk = one_stop.load(seed=seed, dossiers=dossiers, var_dir=settings.VAR_DIR)
        signed = load_demo_signatures(var_dir=settings.VAR_DIR)
        self.stdout.write(f"Dữ liệu mẫu đã nạp trong {report.seconds + desk.seconds:.1f} giây.")
        self.stdout.write(f"  Tạo mới: {created or 'không có'}")
        if updated:
            self.stdout.write(f"  Cập nhật: {updated}")
        if unchanged:
            self.stdout.write(f"  Đã có sẵn, giữ nguyên: {unchanged}")
        made = ", ".join(f"{n} {k}" for k, n in desk.created.items() if n)
        kept = ", ".join(f"{n} {k}" for k, n in desk.unchanged.items() if n)
        self.stdout.write(f"  Một cửa ({desk.seconds:.1f} giây): tạo mới {made or 'không có'}")
        if kept:
            self.stdout.write(f"  Một cửa, đã có sẵn: {kept}")
        self.stdout.write(
            f"  Chữ ký số mẫu: văn bản ký số {signed.signed_pdf} "
            f"(Chủ tịch ký qua {signed.chairman_key_kind}, văn thư đóng dấu cơ quan); "
            f"chứng thư và khóa mẫu ở {signed.pki_dir}"
        )
        self.stdout.write(
            f"  Dấu cơ quan ký số biểu mẫu (UBND xã Đơn Dương) cấu hình ở {seal.seal_dir()}"
        )
        rows = [
            [a.username, a.full_name, a.role, a.organisation, a.password, a.otp]
            for a in generator.well_known_accounts()
        ]
        self.stdout.write("")
        self.stdout.write("Tài khoản mẫu (mọi tài khoản mẫu dùng chung mật khẩu):")
        headers = ["Tài khoản", "Họ và tên", "Vai trò", "Cơ quan", "Mật khẩu", "Xác thực 2 lớp"]
        for text in _table(headers, rows):
            self.stdout.write(text)
        self.stdout.write("")
        self.stdout.write(
            "Lãnh đạo và quản trị phải nhập mã OTP; xem mã hiện tại bằng "
            "`cqs demo_otp <tài khoản>` (hoặc `manage.py demo_otp`), thêm --url để lấy "
            "đường dẫn otpauth:// cho ứng dụng xác thực."
        )
        self.stdout.write(
            self.style.WARNING(
                "Chỉ dùng để trình diễn: mật khẩu và khóa OTP của tài khoản mẫu là công khai."
            )
        )
