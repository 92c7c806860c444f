from django.urls import path

from chinhquyenso.dossiers import views_public

app_name = "public"

urlpatterns = [
    path("", views_public.lookup_page, name="lookup"),
    path("danh-gia/<str:token>/", views_public.rating_link, name="rating_link"),
    path("<str:code>/", views_public.dossier_page, name="dossier"),
]
