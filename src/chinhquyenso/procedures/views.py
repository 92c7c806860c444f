"""Pages of the procedure catalogue and the internal-process editor. Thin: parse, call a
service or a query, render.

The catalogue list and a procedure's current content are public (procedures must be published,
Decree 63/2010/NĐ-CP); versions history and processes need `procedure.view`; export needs
`procedure.view`; import needs the catalogue manager; the process editor `process.manage` on
the organisation. Anonymous visitors of a restricted page go to the login page, others get
403; an unknown code or an organisation outside one's reach is a Vietnamese 404.
"""

from __future__ import annotations

import json
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms.formsets import ManagementForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from chinhquyenso.core import errors, permissions
from chinhquyenso.core.models import Organisation
from chinhquyenso.core.models.organisations import OrganisationKind
from chinhquyenso.procedures import queries, services
from chinhquyenso.procedures.forms import (
    CatalogueFilterForm,
    ImportForm,
    StepForm,
    StepFormSet,
)
from chinhquyenso.procedures.models import ImplementingLevel
from chinhquyenso.procedures.services import excel as excel_service

PER_PAGE = 25


def _not_found(request, message: str):
    context = {"status": 404, "title": _("Không tìm thấy"), "message": message}
    return render(request, "error.html", context, status=404)


def _bad_request(request, message: str):
    context = {"status": 400, "title": _("Yêu cầu không hợp lệ"), "message": message}
    return render(request, "error.html", context, status=400)


def _page(check):
    """Signed in and `check(user)`; a service's NotFound becomes the Vietnamese 404 page, its
    PermissionDenied the 403 page, and a ValidationFailed the view did not handle the 400 page
    with its message."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except errors.NotFound as exc:
                return _not_found(request, exc.message)
            except errors.PermissionDenied:
                raise PermissionDenied from None
            except errors.ValidationFailed as exc:
                return _bad_request(request, exc.message)

        return wrapped

    return decorator


def _public(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except errors.NotFound as exc:
            return _not_found(request, exc.message)
        except errors.ValidationFailed as exc:
            return _bad_request(request, exc.message)

    return wrapped


def _can_view(user) -> bool:
    return permissions.can(user, "procedure.view")


# --- Catalogue ------------------------------------------------------------------------------------


@require_GET
@_public
def catalogue(request):
    form = CatalogueFilterForm(request.GET or None, fields=queries.fields())
    data = form.cleaned_data if form.is_valid() else {}
    rows = queries.catalogue(
        q=data.get("q") or "", field=data.get("linh_vuc") or None, level=data.get("cap") or None
    )
    page_obj = Paginator(rows, PER_PAGE).get_page(request.GET.get("trang"))
    user = request.user
    context = {
        "form": form,
        "page_obj": page_obj,
        "can_view": _can_view(user),
        "can_import": services.can_manage_catalogue(user),
    }
    return render(request, "procedures/catalogue.html", context)


def _process_organisations(user):
    """Organisations whose processes `user` may edit (implementing agencies, not units)."""
    return queries.manageable_organisations(user).exclude(
        kind__in=[OrganisationKind.UNIT, OrganisationKind.SERVICE_CENTRE]
    )


@require_GET
@_public
def detail(request, code: str):
    procedure = queries.get_procedure(code)
    user = request.user
    can_view = _can_view(user)
    version = procedure.current_version
    wanted = queries.plain_id(request.GET.get("phien-ban") or "")
    if wanted is not None and can_view:  # anything but a number is ignored
        version = queries.get_version(procedure, wanted)
    editable = list(_process_organisations(user)) if can_view else []
    context = {
        "procedure": procedure,
        "version": version,
        "is_current": version.pk == procedure.current_version_id,
        "legal": services.legal_time(version),
        "can_view": can_view,
        "versions": queries.versions_of(procedure) if can_view else [],
        "processes": queries.processes_visible_to(user, procedure) if can_view else [],
        "organisations": procedure.organisations.order_by("path") if can_view else [],
        "editable_organisations": editable,
        "editable_ids": {o.pk for o in editable},
        "level_label": ImplementingLevel(procedure.level).label,
    }
    return render(request, "procedures/detail.html", context)


# --- Import and export ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@_page(services.can_manage_catalogue)
def import_page(request):
    report = None
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        source = f"{upload.name} ({request.user.get_username()})"[:300]
        try:
            if excel_service.is_xlsx(data):
                report = services.import_workbook(actor=request.user, data=data, source=source)
            else:
                try:
                    records = json.loads(data.decode("utf-8-sig"))
                except (UnicodeDecodeError, ValueError):
                    raise errors.ValidationFailed(
                        _("Tệp không phải JSON hoặc Excel (.xlsx) hợp lệ."),
                        code="invalid_payload",
                    ) from None
                if isinstance(records, dict) and isinstance(records.get("records"), list):
                    records = records["records"]
                report = services.import_catalogue(
                    actor=request.user, records=records, source=source
                )
        except errors.ValidationFailed as exc:
            form.add_error("file", exc.message)
        else:
            level = messages.SUCCESS if report.ok else messages.WARNING
            messages.add_message(request, level, report.summary())
    return render(request, "procedures/import.html", {"form": form, "report": report})


def _filename(ext: str) -> str:
    return f"danh-muc-thu-tuc-{timezone.localdate():%Y%m%d}.{ext}"


@require_GET
@_page(_can_view)
def export_json(request):
    records = services.export_catalogue(actor=request.user)
    body = json.dumps(records, ensure_ascii=False, indent=1, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename("json")}"'
    return response


@require_GET
@_page(_can_view)
def export_xlsx(request):
    data = services.export_workbook(actor=request.user)
    response = HttpResponse(data, content_type=excel_service.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    return response


# --- Process editor -------------------------------------------------------------------------------


def _editor_organisation(user, org_id: int) -> Organisation:
    org = Organisation.objects.filter(pk=org_id, is_active=True).first()
    if org is None or not permissions.can(user, "process.manage", org):
        raise errors.NotFound(_("Không tìm thấy cơ quan, đơn vị."), code="organisation_not_found")
    return org


# Django's own texts for these are English.
FORMSET_MESSAGES = {
    "missing_management_form": gettext_lazy(
        "Dữ liệu các bước gửi lên không đầy đủ hoặc đã bị thay đổi. Vui lòng tải lại trang và "
        "nhập lại."
    ),
    "too_many_forms": gettext_lazy("Quy trình có tối đa %(num)d bước."),
}


def _formset(data, *, organisation, initial=None, day_minutes):
    units = Organisation.objects.filter(
        path__startswith=organisation.path, is_active=True
    ).order_by("path")
    targets = (
        Organisation.objects.filter(is_active=True, org_code__isnull=False)
        .exclude(path__startswith=organisation.path)
        .order_by("path")
    )
    return StepFormSet(
        data,
        initial=initial,
        prefix="buoc",
        form_kwargs={"units": units, "targets": targets, "day_minutes": day_minutes},
        error_messages=FORMSET_MESSAGES,
    )


def _posted_rows(data, prefix: str = "buoc") -> int | None:
    """The number of step rows the editor posted (its management form), or None when the
    management form is missing or was tampered with (counts that are not whole numbers ≥ 0)."""
    management = ManagementForm(data, prefix=prefix)
    if not management.is_valid():
        return None
    total = management.cleaned_data["TOTAL_FORMS"]
    initial = management.cleaned_data["INITIAL_FORMS"]
    # The editor never posts many more rows than a process may have: more is not a process
    # to check row by row (each row rendered again with its lists of units) but tampering.
    if not 0 <= total <= MAX_POSTED_ROWS or initial < 0:
        return None
    return total


# A process has at most 50 steps (StepFormSet max_num); the editor posts one blank row more,
# and "too many steps" is reported as such up to this many rows.
MAX_POSTED_ROWS = 60


def _rows_with_blank(data, rows: int, prefix: str = "buoc"):
    """The posted formset data (`rows` rows) with one more (empty) row."""
    data = data.copy()
    data[f"{prefix}-TOTAL_FORMS"] = str(rows + 1)
    return data


def _saved_formset(current, *, organisation, day_minutes):
    """(formset, total minutes) of the steps of the current process, as first shown."""
    steps = list(current.steps.all()) if current else []
    initial = [StepForm.initial_for(services.StepSpec.of(s), day_minutes) for s in steps]
    formset = _formset(None, organisation=organisation, initial=initial, day_minutes=day_minutes)
    return formset, (sum(s.allotment_minutes for s in steps) if steps else None)


def _can_manage_processes(user) -> bool:
    return permissions.can(user, "process.manage")


@require_GET
@_page(_can_manage_processes)
def process_choose(request, code: str):
    """The chooser on the detail page: ?co-quan=<id> → that organisation's editor."""
    procedure = queries.get_procedure(code)
    org_id = queries.plain_id(request.GET.get("co-quan") or "")
    if org_id is None:
        return redirect("procedures:detail", code=procedure.national_code)
    return redirect("procedures:process_editor", code=procedure.national_code, org_id=org_id)


@require_http_methods(["GET", "POST"])
@_page(_can_manage_processes)
def process_editor(request, code: str, org_id: int):
    user = request.user
    procedure = queries.get_procedure(code)
    organisation = _editor_organisation(user, org_id)
    day = services.standard_day_minutes()
    legal = services.legal_time(procedure.current_version, day_minutes=day)
    current = queries.current_process(procedure, organisation)
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    problems: list = []
    total = None
    error = ""
    status = 200
    rows = _posted_rows(request.POST) if request.method == "POST" else None

    if action == "default":
        specs = services.default_steps(procedure=procedure, organisation=organisation)
        initial = [StepForm.initial_for(s, day) for s in specs]
        formset = _formset(None, organisation=organisation, initial=initial, day_minutes=day)
        total = sum(s.allotment_minutes for s in specs)
        messages.info(
            request, _("Đã điền quy trình mặc định; kiểm tra rồi bấm “Lưu phiên bản mới”.")
        )
    elif request.method == "POST" and rows is None:
        # Not the editor's own form (or a broken page): nothing is saved; the saved steps again.
        formset, total = _saved_formset(current, organisation=organisation, day_minutes=day)
        error = _(
            "Dữ liệu các bước gửi lên không đầy đủ hoặc đã bị thay đổi nên chưa lưu gì. Dưới "
            "đây là quy trình đang lưu; vui lòng nhập lại thay đổi."
        )
        status = 400
    elif action == "add":
        formset = _formset(
            _rows_with_blank(request.POST, rows), organisation=organisation, day_minutes=day
        )
        formset.is_valid()  # show the rows' values; the blank row's errors are not shown
    elif request.method == "POST":
        formset = _formset(request.POST, organisation=organisation, day_minutes=day)
        if formset.is_valid():
            specs = [
                f.spec()
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            total = sum(s.allotment_minutes for s in specs)
            problems = services.validate_steps(
                procedure=procedure, organisation=organisation, steps=specs, day_minutes=day
            )
            if action == "save" and not problems:
                try:
                    process = services.save_process(
                        actor=user, procedure=procedure, organisation=organisation, steps=specs
                    )
                except errors.ValidationFailed as exc:
                    detail = (exc.details or {}).get("problems") if exc.details else None
                    problems = detail or [{"message": exc.message, "code": exc.code}]
                else:
                    if current is not None and process.pk == current.pk:
                        messages.info(request, _("Quy trình không thay đổi."))
                    else:
                        messages.success(
                            request,
                            _("Đã lưu quy trình phiên bản %(n)s.") % {"n": process.number},
                        )
                    return redirect(
                        reverse("procedures:process_editor", args=[procedure.national_code, org_id])
                    )
            elif action == "check" and not problems:
                messages.success(request, _("Quy trình hợp lệ."))
    else:
        formset, total = _saved_formset(current, organisation=organisation, day_minutes=day)

    context = {
        "procedure": procedure,
        "organisation": organisation,
        "formset": formset,
        "current": current,
        "history": queries.process_versions(procedure, organisation),
        "legal": legal,
        "legal_text": services.format_minutes(legal.minutes, day_minutes=day),
        "total": total,
        "total_text": services.format_minutes(total, day_minutes=day) if total else "—",
        "over": total is not None and legal.minutes is not None and total > legal.minutes,
        "problems": problems,
        "error": error,
        "day_minutes": day,
    }
    return render(request, "procedures/process_editor.html", context, status=status)
