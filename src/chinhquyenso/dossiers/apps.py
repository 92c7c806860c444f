from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "chinhquyenso.dossiers"
    label = "dossiers"
    verbose_name = "Hồ sơ thủ tục hành chính"

    def ready(self) -> None:
        from chinhquyenso.dossiers import events, permissions  # noqa: F401  (registers actions)

        events.install_audit_labels()

        from chinhquyenso.core.services import files

        files.register_read_rule(_may_read_dossier_file)


def _may_read_dossier_file(user, stored_file) -> bool:
    """A dossier's scanned documents and result carry the applicant's personal data: readable
    by whoever may see it on a dossier that holds the file (`privacy`; a scan reused by a later
    dossier is held by both), and by the applicant, their own result once handed over."""
    from django.db.models import Q

    from chinhquyenso.dossiers import privacy, queries
    from chinhquyenso.dossiers.models import Status

    if getattr(user, "is_applicant", False):
        # The applicant downloads the (signed) result of their own dossier once handed over.
        return (
            queries.dossiers_of_applicant(user)
            .filter(result_file=stored_file, status=Status.RETURNED)
            .exists()
        )
    holders = list(
        queries.dossiers_visible_to(user)
        .filter(Q(documents__file=stored_file) | Q(result_file=stored_file))
        .distinct()[:50]
    )
    return bool(privacy.personal_data_visible(user, holders))
