from django.apps import AppConfig


class DossiersConfig(AppConfig):
    name = "chinhquyenso.dossiers"
    label = "dossiers"
    verbose_name = "Hồ sơ thủ tục hành chính"
