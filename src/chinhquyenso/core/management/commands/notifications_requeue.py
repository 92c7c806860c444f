"""`cqs notifications_requeue`: queue delivery again for e-mail and SMS notifications whose
enqueue was lost (never attempted, older than ten minutes). Only a task backend other than the
database one can lose an enqueue (with the database queue the task commits with the change);
there, run it every few minutes (cron, systemd timer). Safe to run at any time: delivery skips
rows that are no longer queued."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from chinhquyenso.core.services import notifications


class Command(BaseCommand):
    help = "Xếp hàng gửi lại thư điện tử, SMS chưa từng được gửi (mất lượt xếp hàng)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes", type=int, default=10, help="chỉ thông báo tạo trước đó"
        )

    def handle(self, *args, **options):
        minutes = max(0, options["older_than_minutes"])
        count = notifications.requeue_unsent(older_than=timedelta(minutes=minutes))
        if count:
            self.stdout.write(self.style.SUCCESS(f"Đã xếp hàng gửi lại {count} thông báo."))
        else:
            self.stdout.write("Không có thông báo nào cần gửi lại.")
