"""Downloading a stored file from a page: /tep/<id>/ (same rules as the API)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path

from chinhquyenso.core.api.files import file_response
from chinhquyenso.core.errors import Conflict, NotFound
from chinhquyenso.core.services import files
from chinhquyenso.core.views import errors


@login_required
def download(request, file_id: int):
    try:
        stored = files.get_file_for(actor=request.user, file_id=file_id)
        fileobj = files.open_verified(actor=request.user, stored_file=stored)
    except NotFound:
        return errors.not_found(request)
    except Conflict as exc:
        return render(
            request,
            "error.html",
            {"status": 409, "message": exc.message, "title": "Tệp không còn nguyên vẹn"},
            status=409,
        )
    return file_response(fileobj, stored)


urlpatterns = [
    path("tep/<int:file_id>/", download, name="file_download"),
]
