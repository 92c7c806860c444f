"""`cqs audit verify`: walk the hash chain and report the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from chinhquyenso.core.services import audit


class Command(BaseCommand):
    help = "Nhật ký hệ thống: verify — kiểm tra chuỗi băm"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):
        result = audit.verify()
        if result.ok:
            self.stdout.write(
                self.style.SUCCESS(f"Chuỗi nhật ký toàn vẹn: {result.checked} bản ghi đã kiểm tra.")
            )
            return
        raise CommandError(
            f"Chuỗi nhật ký bị phá vỡ tại bản ghi #{result.broken_entry_id}: {result.reason} "
            f"({result.checked} bản ghi trước đó hợp lệ)."
        )
