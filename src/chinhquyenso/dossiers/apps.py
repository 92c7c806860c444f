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
    """Whoever may see a dossier may read its scanned documents and its result."""
    from django.db.models import Q

    from chinhquyenso.dossiers import queries

    return (
        queries.dossiers_visible_to(user)
        .filter(Q(documents__file=stored_file) | Q(result_file=stored_file))
        .exists()
    )
