from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "chinhquyenso.core"
    label = "core"
    verbose_name = "Nền tảng"

    def ready(self) -> None:
        from chinhquyenso.core import checks  # noqa: F401  (registers system checks)
