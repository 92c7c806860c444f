from django.urls import path

from chinhquyenso.core.views import account, admin_pages, files, home, tasks_page

app_name = "core"

urlpatterns = [
    path("", home.home, name="home"),
    *account.urlpatterns,
    *admin_pages.urlpatterns,
    *files.urlpatterns,
    *tasks_page.urlpatterns,
]
