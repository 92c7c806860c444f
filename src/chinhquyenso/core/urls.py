from django.urls import path

from chinhquyenso.core.views import account, admin_pages, files, home

app_name = "core"

urlpatterns = [
    path("", home.home, name="home"),
    *account.urlpatterns,
    *admin_pages.urlpatterns,
    *files.urlpatterns,
]
