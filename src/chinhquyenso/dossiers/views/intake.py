"""Desk intake (tiếp nhận hồ sơ): choose the procedure, fill in the applicant and the
checklist, attach scans; `services.receive_dossier` decides and numbers the dossier."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from chinhquyenso.core import errors
from chinhquyenso.core.models import Organisation
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import queries, services
from chinhquyenso.dossiers.forms import IntakeForm, ProcedureSearchForm, place_error
from chinhquyenso.dossiers.models import DossierDocument
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


# The field of the htmx request that asks for the reusable scans (not an intake).
REUSE_LOOKUP = "tim_giay_to_tai_su_dung"


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
    documents = version.documents or []
    id_number = (request.POST.get("id_number") or "").strip()
    reusable = reusable_documents(request.user, documents, id_number)
    if (
        request.method == "POST"
        and request.headers.get("HX-Request")
        and REUSE_LOOKUP in request.POST
    ):
        # htmx, after the id number is typed: the earlier scans the desk may reuse. A POST, so
        # the applicant's number stays out of URLs, access logs and proxies' logs.
        form = IntakeForm(documents=documents, reusable=reusable)
        return render(
            request, "dossiers/_reuse_candidates.html", {"form": form, "id_number": id_number}
        )
    form = IntakeForm(
        request.POST or None, request.FILES or None, documents=documents, reusable=reusable
    )
    form.fields["id_number"].widget.attrs.update(
        {
            "hx-post": f"{request.path}?thu_tuc={procedure.national_code}&to_chuc={desk.pk}",
            "hx-include": "this",
            "hx-vals": f'{{"{REUSE_LOOKUP}": "1"}}',
            "hx-trigger": "input changed delay:400ms, change",
            "hx-target": "#tai-su-dung",
            "hx-swap": "innerHTML",
        }
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                dossier = _receive(request.user, desk, procedure, form)
            except services.AlreadyReceived as exc:
                # The same form posted again: show the dossier the first post received.
                messages.info(request, exc.message)
                return redirect("dossiers:detail", code=exc.dossier_code)
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


REUSE_LIMIT = 5  # earlier scans offered per document


def reusable_documents(user, documents: list[dict], id_number: str) -> dict[int, list]:
    """Digitisation: for each checklist document the applicant must provide, their earlier
    scans of the same name in dossiers `user` may see (newest first, one per stored file).
    Empty unless `id_number` looks like a personal id (12 digits) or a tax code."""
    compact = id_number.replace("-", "")
    if not (compact.isdigit() and len(compact) in (10, 12, 13)):
        return {}
    wanted = {
        i: doc.get("name", "")
        for i, doc in enumerate(documents)
        if not doc.get("state_holds_data") and doc.get("name")
    }
    if not wanted:
        return {}
    earlier = (
        DossierDocument.objects.filter(
            dossier__in=queries.dossiers_visible_to(user)
            .filter(applicant_id_number=id_number)
            .values("pk"),
            file__isnull=False,
            name__in=set(wanted.values()),
        )
        .select_related("dossier", "file")
        .order_by("-dossier__received_at", "-id")
    )
    by_name: dict[str, list] = {}
    seen: set[tuple[str, int]] = set()
    for doc in earlier[: REUSE_LIMIT * len(wanted) * 4]:
        if (doc.name, doc.file_id) in seen:
            continue
        seen.add((doc.name, doc.file_id))
        by_name.setdefault(doc.name, []).append(doc)
    return {i: by_name[name][:REUSE_LIMIT] for i, name in wanted.items() if name in by_name}


@file_service.discard_on_failure()
def _receive(user, desk, procedure, form: IntakeForm):
    """Store the scans and receive the dossier in one transaction: a refusal by the service
    rolls the stored files back too, their bytes included (nothing saved)."""
    documents = []
    for item in form.checklist:
        if item["state"]:
            continue
        i = item["index"]
        upload = form.cleaned_data.get(f"scan_{i}")
        ticked = form.cleaned_data.get(f"doc_{i}")
        reused = form.cleaned_data.get(f"reuse_{i}")
        if not ticked and not upload and not reused:
            continue
        entry = {"index": i, "provided": True}
        if reused:
            entry["reused_from"] = reused
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
        intake_key=form.cleaned_data.get("intake_key") or None,
    )
