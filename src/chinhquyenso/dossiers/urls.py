from django.urls import path

from chinhquyenso.dossiers.views import dossier, intake, lists

app_name = "dossiers"

urlpatterns = [
    path("", lists.queue, name="queue"),
    path("tiep-nhan/", intake.intake, name="intake"),
    path("tiep-nhan/thu-tuc/", intake.procedure_search, name="procedure_search"),
    path("danh-sach/", lists.dossier_list, name="list"),
    path("giam-sat/", lists.supervision, name="supervision"),
    path("so-theo-doi.xlsx", lists.register, name="register"),
    path("<str:code>/", dossier.detail, name="detail"),
    path("<str:code>/thao-tac/<str:action>/", dossier.act, name="act"),
    path("<str:code>/mau/<str:purpose>.pdf", dossier.form_pdf, name="form_pdf"),
    path("<str:code>/danh-gia/", dossier.kiosk, name="kiosk"),
    path("<str:code>/danh-gia/ma-qr/", dossier.rating_qr, name="rating_qr"),
]
