"""`cqs form_sets [--update]`: install the shipped form sets (Forms 01–06 of TT 01/2018 and the
2025 set) if missing; with `--update`, re-copy the shipped wording into the database after an
upgrade that corrected it (each changed form is audited as `formset.updated`). The active set
is not changed."""

from django.core.management.base import BaseCommand
from django.db import transaction

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.dossiers import formsets


class Command(BaseCommand):
    help = "Cài các bộ biểu mẫu kèm theo; --update: chép lại nội dung biểu mẫu của bản phát hành"

    def add_arguments(self, parser):
        parser.add_argument(
            "--update", action="store_true", help="chép lại nội dung các mẫu kèm theo phần mềm"
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            before = AuditEntry.objects.filter(action="formset.updated").count()
            installed = formsets.ensure_form_sets(update=options["update"])
            changed = AuditEntry.objects.filter(action="formset.updated").count() - before
        names = ", ".join(s.name for s in installed)
        self.stdout.write(f"Bộ biểu mẫu: {names}.")
        if options["update"]:
            self.stdout.write(self.style.SUCCESS(f"Đã cập nhật {changed} biểu mẫu."))
