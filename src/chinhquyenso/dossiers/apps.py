from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "chinhquyenso.dossiers"
    label = "dossiers"
    verbose_name = "Hồ sơ thủ tục hành chính"

    def ready(self) -> None:
        from chinhquyenso.dossiers import events, permissions  # noqa: F401  (registers actions)

        events.install_audit_labels()
