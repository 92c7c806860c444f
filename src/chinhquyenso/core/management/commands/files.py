"""`cqs files verify`: re-hash every stored file and list those that no longer match."""

from django.core.management.base import BaseCommand

from chinhquyenso.core.services import files


class Command(BaseCommand):
    help = "Tệp lưu trữ: verify — băm lại mọi tệp, liệt kê tệp bị thay đổi hoặc mất"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):
        checked, broken = files.verify_all()
        for item in broken:
            stored = item.stored_file
            self.stdout.write(
                self.style.ERROR(
                    f"#{stored.pk} {stored.original_name} ({stored.storage_name}): {item.reason}"
                )
            )
        if broken:
            self.stderr.write(
                f"{len(broken)}/{checked} tệp không còn nguyên vẹn; khôi phục từ bản sao lưu."
            )
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(f"Mọi tệp đều nguyên vẹn: {checked} tệp đã kiểm tra."))
