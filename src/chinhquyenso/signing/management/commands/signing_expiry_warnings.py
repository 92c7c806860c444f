"""`cqs signing_expiry_warnings`: tell holders of registered signing certificates that they
expire in 30, 7 or 1 days (once per threshold). Run it daily (cron, systemd timer)."""

from django.core.management.base import BaseCommand

from chinhquyenso.signing import expiry


class Command(BaseCommand):
    help = "Nhắc chứng thư số sắp hết hạn (30, 7 và 1 ngày trước; mỗi mốc một lần)"

    def handle(self, *args, **options):
        sent = expiry.send_expiry_warnings()
        if not sent:
            self.stdout.write("Không có chứng thư số nào cần nhắc hôm nay.")
            return
        for days, count in sorted(sent.items(), reverse=True):
            self.stdout.write(
                self.style.SUCCESS(f"Đã nhắc {count} chứng thư số còn dưới {days} ngày hiệu lực.")
            )
