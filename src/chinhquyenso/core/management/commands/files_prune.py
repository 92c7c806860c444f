"""`cqs files_prune`: remove stored bytes that no stored file uses (left by a transaction that
rolled back outside `discard_on_failure`, or by a process that died), written more than
`--older-than-hours` ago. Safe at any time: each removal is decided under the content's lock
(`files.discard_if_unreferenced`), so bytes an upload in progress relies on stay. Run it daily
(cron, systemd timer)."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from chinhquyenso.core.services import files


class Command(BaseCommand):
    help = "Xóa nội dung tệp trên kho lưu trữ không còn thuộc tệp lưu trữ nào (giao dịch bị hủy)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-hours",
            type=int,
            default=24,
            help="chỉ xóa nội dung ghi trước đó (mặc định 24 giờ, tối thiểu 1)",
        )
        parser.add_argument("--dry-run", action="store_true", help="chỉ liệt kê, không xóa")

    def handle(self, *args, **options):
        hours = max(1, options["older_than_hours"])
        dry_run = options["dry_run"]
        result = files.prune_unreferenced(older_than=timedelta(hours=hours), dry_run=dry_run)
        for name in result.removed:
            self.stdout.write(name)
        verb = "Sẽ xóa" if dry_run else "Đã xóa"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {len(result.removed)} nội dung không còn dùng; "
                f"{result.checked} nội dung đã kiểm tra."
            )
        )
