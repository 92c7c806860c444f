from django.urls import path

from chinhquyenso.procedures import views

app_name = "procedures"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("nhap/", views.import_page, name="import"),
    path("xuat.json", views.export_json, name="export_json"),
    path("xuat.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<str:code>/", views.detail, name="detail"),
    path("<str:code>/quy-trinh/", views.process_choose, name="process_choose"),
    path("<str:code>/quy-trinh/<int:org_id>/", views.process_editor, name="process_editor"),
]
