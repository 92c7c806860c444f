"""Desk intake (tiếp nhận hồ sơ): choose the procedure, fill in the applicant and the
checklist, attach scans; `services.receive_dossier` decides and numbers the dossier."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from chinhquyenso.core import errors
from chinhquyenso.core.models import Organisation
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import services
from chinhquyenso.dossiers.forms import IntakeForm, ProcedureSearchForm, place_error
from chinhquyenso.dossiers.permissions import RECEIVE
from chinhquyenso.dossiers.views._common import (
    chosen_organisation,
    not_found,
    organisations_where,
    page,
)
from chinhquyenso.procedures import queries as procedure_queries
from chinhquyenso.procedures.text import fold

SEARCH_LIMIT = 20


def procedures_for_desk(desk: Organisation):
    """Procedures the desk may receive: those of its organisation and of the organisations
    above it (a one-stop unit receives for its UBND), location-independent ones included."""
    ids = [int(x) for x in desk.path.strip("/").split("/") if x] or [desk.pk]
    orgs = list(Organisation.objects.filter(pk__in=ids))
    return reduce(or_, [procedure_queries.procedures_for_organisation(o) for o in orgs])


def _search_results(desk, q: str):
    qs = procedures_for_desk(desk)
    # Every word in the folded search text (accents ignored), or as typed in the code or name.
    for word in q.split():
        qs = qs.filter(
            Q(search_text__contains=fold(word))
            | Q(national_code__icontains=word)
            | Q(current_version__name__icontains=word)
        )
    return list(qs.order_by("national_code")[:SEARCH_LIMIT])


@page(RECEIVE)
@require_GET
def procedure_search(request):
    """htmx: the procedures matching the search box (a fragment)."""
    desk = chosen_organisation(request, organisations_where(request.user, RECEIVE))
    form = ProcedureSearchForm(request.GET)
    q = form.data.get("q", "").strip()
    return render(
        request,
        "dossiers/_procedure_results.html",
        {"results": _search_results(desk, q), "desk": desk, "q": q},
    )


@page(RECEIVE)
@require_http_methods(["GET", "POST"])
def intake(request):
    desks = organisations_where(request.user, RECEIVE)
    desk = chosen_organisation(request, desks)
    code = (request.GET.get("thu_tuc") or "").strip()
    if not code:
        form = ProcedureSearchForm(request.GET)
        q = form.data.get("q", "").strip()
        return render(
            request,
            "dossiers/intake_choose.html",
            {
                "desk": desk,
                "desks": desks,
                "search_form": form,
                "q": q,
                "results": _search_results(desk, q),
            },
        )
    procedure = procedures_for_desk(desk).filter(national_code=code).first()
    if procedure is None:
        return not_found(request, "Không tìm thấy thủ tục hành chính này tại nơi tiếp nhận.")
    version = procedure.current_version
    form = IntakeForm(
        request.POST or None, request.FILES or None, documents=version.documents or []
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                dossier = _receive(request.user, desk, procedure, form)
            except errors.DomainError as exc:
                place_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Đã tiếp nhận hồ sơ {dossier.code}. Hẹn trả kết quả: "
                    f"{services._common.vn(dossier.due_at) or 'chưa xác định'}.",
                )
                return redirect("dossiers:detail", code=dossier.code)
        status = 400
    return render(
        request,
        "dossiers/intake_form.html",
        {"desk": desk, "desks": desks, "procedure": procedure, "version": version, "form": form},
        status=status,
    )


@transaction.atomic
def _receive(user, desk, procedure, form: IntakeForm):
    """Store the scans and receive the dossier in one transaction: a refusal by the service
    rolls the stored files back too (nothing saved)."""
    documents = []
    for item in form.checklist:
        if item["state"]:
            continue
        i = item["index"]
        upload = form.cleaned_data.get(f"scan_{i}")
        ticked = form.cleaned_data.get(f"doc_{i}")
        if not ticked and not upload:
            continue
        entry = {"index": i, "provided": True}
        if upload:
            stored = file_service.store_file(
                actor=user, uploaded=upload, purpose="scan", name=upload.name
            )
            entry["file_id"] = stored.pk
        documents.append(entry)
    return services.receive_dossier(
        actor=user,
        organisation=desk,
        procedure=procedure,
        applicant=form.applicant(),
        documents=documents,
        channel=form.cleaned_data["channel"],
        result_delivery=form.cleaned_data["result_delivery"],
    )
