"""Administration pages (issue #2, point 12): organisations, people, the working-day calendar,
the audit trail and API keys. Thin: parse a form, call a service or a scoped query, render.

Every page needs a signed-in person allowed the page's action somewhere (anonymous → login,
anyone else → 403); objects are looked up inside the person's scope, so an id outside it is a
404, exactly like an id that does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from chinhquyenso.core import errors, permissions, queries
from chinhquyenso.core.audit_labels import LABELS, label_for
from chinhquyenso.core.forms import (
    ApiKeyForm,
    AuditFilterForm,
    MergeForm,
    OfficialForm,
    OrganisationForm,
    OverrideForm,
    PositionForm,
)
from chinhquyenso.core.models import (
    AdministrativeUnit,
    ApiKey,
    CalendarOverride,
    Organisation,
    Position,
)
from chinhquyenso.core.models.organisations import AdminLevel
from chinhquyenso.core.services import apikeys as apikey_service
from chinhquyenso.core.services import audit as audit_service
from chinhquyenso.core.services import calendar as calendar_service
from chinhquyenso.core.services import organisations as org_service
from chinhquyenso.core.services import people as people_service
from chinhquyenso.core.views.account import login_required_page

ORGANISATIONS_PER_PAGE = 100
PEOPLE_PER_PAGE = 25
AUDIT_PER_PAGE = 50


def page(action: str):
    """Signed in, allowed `action` somewhere; a service's NotFound/PermissionDenied raised
    while looking things up become the 404/403 pages."""

    def decorator(view):
        @wraps(view)
        @login_required_page
        def wrapped(request, *args, **kwargs):
            if not permissions.can(request.user, action):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except errors.NotFound as exc:
                raise Http404(exc.message) from None
            except errors.PermissionDenied:
                raise PermissionDenied from None

        return wrapped

    return decorator


def _page_number(request) -> str | None:
    return request.GET.get("trang")


def _local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


# --- Organisations ---------------------------------------------------------------------------


@page("organisation.view")
def organisations(request):
    user = request.user
    q = (request.GET.get("q") or "").strip()
    show_inactive = request.GET.get("tat_ca") == "1"
    rows = queries.organisations_visible_to(user).select_related("admin_unit__parent")
    if not show_inactive:
        rows = rows.filter(is_active=True)
    if q:
        rows = rows.filter(
            Q(name__icontains=q) | Q(short_name__icontains=q) | Q(org_code__icontains=q)
        )
    page_obj = Paginator(rows.order_by("path"), ORGANISATIONS_PER_PAGE).get_page(
        _page_number(request)
    )
    top = min((org.depth for org in page_obj), default=0)
    for org in page_obj:
        org.indent = org.depth - top
    context = {
        "page_obj": page_obj,
        "q": q,
        "show_inactive": show_inactive,
        "can_manage": permissions.can(user, "organisation.manage"),
        "can_merge": permissions.can(user, "organisation.merge"),
    }
    return render(request, "core/organisations.html", context)


@page("organisation.view")
def organisation_detail(request, pk: int):
    user = request.user
    org = queries.get_organisation_for(user, pk)
    children = Organisation.objects.filter(parent=org).select_related("admin_unit").order_by("path")
    can_view_people = permissions.can(user, "person.view", org)
    positions = (
        Position.objects.active()
        .filter(organisation=org)
        .select_related("user")
        .order_by("-is_primary", "user__full_name")
        if can_view_people
        else Position.objects.none()
    )
    context = {
        "org": org,
        "children": children,
        "positions": positions,
        "can_view_people": can_view_people,
        "merged_from": Organisation.objects.filter(merged_into=org).order_by("name"),
        "can_manage": permissions.can(user, "organisation.manage", org),
        "can_merge": permissions.can(user, "organisation.merge", org) and org.is_active,
    }
    return render(request, "core/organisation_detail.html", context)


@page("organisation.manage")
def organisation_create(request):
    user = request.user
    initial = {"parent": request.GET.get("parent")}
    form = OrganisationForm(
        request.POST if request.method == "POST" else None,
        user=user,
        with_parent=True,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            org = org_service.create_organisation(
                actor=user, parent=form.cleaned_data.get("parent"), **form.service_fields()
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Đã tạo %(name)s.") % {"name": org.name})
            return redirect("core:organisation_detail", pk=org.pk)
    return render(request, "core/organisation_form.html", {"form": form, "org": None})


@page("organisation.manage")
def organisation_edit(request, pk: int):
    user = request.user
    org = queries.get_organisation_for(user, pk, "organisation.manage")
    form = OrganisationForm(
        request.POST if request.method == "POST" else None,
        initial=OrganisationForm.initial_for(org),
    )
    if request.method == "POST" and form.is_valid():
        try:
            org = org_service.update_organisation(
                actor=user, organisation=org, **form.service_fields()
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Đã lưu thông tin %(name)s.") % {"name": org.name})
            return redirect("core:organisation_detail", pk=org.pk)
    return render(request, "core/organisation_form.html", {"form": form, "org": org})


@require_GET
@page("organisation.manage")
def admin_unit_options(request):
    """The <option>s of the communes of one province (htmx, for the organisation form)."""
    raw = (request.GET.get("province") or "").strip()
    # ASCII digits that fit the id column; anything else ("²", 30 digits) lists no commune.
    province_id = int(raw) if re.fullmatch(r"[0-9]{1,18}", raw) else 0
    communes = AdministrativeUnit.objects.filter(
        level=AdminLevel.COMMUNE, parent_id=province_id
    ).order_by("name")
    return render(request, "core/includes/commune_options.html", {"communes": communes})


def _merge_preview(sources, on_date: dt.date) -> list[dict]:
    preview = []
    for src in sources:
        preview.append(
            {
                "org": src,
                "positions": Position.objects.active(on_date).filter(organisation=src).count(),
                "units": Organisation.objects.filter(parent=src, is_active=True).count(),
            }
        )
    return preview


@page("organisation.merge")
def organisation_merge(request):
    user = request.user
    if request.method == "POST":
        form = MergeForm(request.POST, user=user)
    else:
        form = MergeForm(user=user, initial={"sources": request.GET.getlist("nguon")})
    if request.method == "POST" and form.is_valid() and "back" not in request.POST:
        data = form.cleaned_data
        sources = list(data["sources"])
        if request.POST.get("confirm") != "1":
            context = {
                "form": form,
                "sources": sources,
                "target": data["target"],
                "on_date": data["on_date"],
                "reason": data["reason"],
                "preview": _merge_preview(sources, data["on_date"]),
            }
            return render(request, "core/organisation_merge_confirm.html", context)
        try:
            summary = org_service.merge_organisations(
                actor=user,
                sources=sources,
                target=data["target"],
                on_date=data["on_date"],
                reason=data["reason"],
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            return _merge_done(request, summary, data)
    return render(request, "core/organisation_merge.html", {"form": form})


def _merge_done(request, summary: dict, data: dict):
    ids = set(summary["sources"])
    for detail in summary["sources"].values():
        ids.update(detail["units"])
    names = dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name"))
    rows = [
        {
            "name": names.get(src_id, src_id),
            "positions": detail["positions"],
            "units": [names.get(u, u) for u in detail["units"]],
            "work": detail.get("work") or {},
        }
        for src_id, detail in summary["sources"].items()
    ]
    messages.success(
        request,
        _("Đã hợp nhất %(count)s cơ quan, đơn vị vào %(target)s.")
        % {"count": len(rows), "target": data["target"].name},
    )
    context = {
        "rows": rows,
        "target": data["target"],
        "on_date": data["on_date"],
        "reason": data["reason"],
    }
    return render(request, "core/organisation_merge_done.html", context)


# --- People ----------------------------------------------------------------------------------


def _current_positions_prefetch() -> Prefetch:
    return Prefetch(
        "positions",
        queryset=Position.objects.active()
        .filter(organisation__is_active=True)
        .select_related("organisation")
        .order_by("-is_primary", "id"),
        to_attr="current_positions",
    )


def _person_for(user, pk: int):
    person = queries.officials_visible_to(user).filter(pk=pk).first()
    if person is None:
        raise Http404(_("Không tìm thấy cán bộ."))
    return person


@page("person.view")
def people(request):
    user = request.user
    q = (request.GET.get("q") or "").strip()
    rows = queries.officials_visible_to(user)
    if q:
        rows = rows.filter(
            Q(full_name__icontains=q) | Q(username__icontains=q) | Q(email__icontains=q)
        )
    rows = rows.prefetch_related(_current_positions_prefetch())
    page_obj = Paginator(rows, PEOPLE_PER_PAGE).get_page(_page_number(request))
    context = {
        "page_obj": page_obj,
        "q": q,
        "can_manage": permissions.can(user, "person.manage"),
    }
    return render(request, "core/people.html", context)


@page("person.view")
def person_detail(request, pk: int):
    user = request.user
    person = _person_for(user, pk)
    today = timezone.localdate()
    positions = list(
        Position.objects.filter(user=person)
        .select_related("organisation")
        .order_by("-start_date", "-id")
    )
    for position in positions:
        position.is_current = position.start_date <= today and (
            position.end_date is None or position.end_date >= today
        )
        position.can_end = position.is_current and permissions.can(
            user, "person.manage", position.organisation
        )
    context = {
        "person": person,
        "positions": positions,
        "has_totp": people_service.confirmed_totp(person) is not None,
        "can_manage": permissions.can(user, "person.manage"),
    }
    return render(request, "core/person_detail.html", context)


@page("person.manage")
def person_create(request):
    user = request.user
    form = OfficialForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = people_service.create_official(
                actor=user,
                username=data["username"].strip(),
                full_name=data["full_name"].strip(),
                organisation=data["organisation"],
                role=data["role"],
                title=data["title"].strip(),
                email=data["email"],
                phone=data["phone"].strip(),
                password=data["password1"],
            )
        except errors.DomainError as exc:
            if getattr(exc, "code", "") == "weak_password":
                form.add_error("password1", exc.message)
            else:
                form.add_domain_error(exc)
        else:
            messages.success(request, _("Đã tạo tài khoản %(name)s.") % {"name": person})
            return redirect("core:person_detail", pk=person.pk)
    return render(request, "core/person_form.html", {"form": form})


@page("person.manage")
def position_add(request, pk: int):
    user = request.user
    person = _person_for(user, pk)
    form = PositionForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            people_service.add_position(
                actor=user,
                user=person,
                organisation=data["organisation"],
                role=data["role"],
                title=data["title"].strip(),
                is_primary=data["is_primary"],
                start_date=data["start_date"],
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(request, _("Đã thêm vị trí công tác cho %(name)s.") % {"name": person})
            return redirect("core:person_detail", pk=person.pk)
    return render(request, "core/position_form.html", {"form": form, "person": person})


@require_POST
@page("person.manage")
def position_end(request, pk: int):
    user = request.user
    position = Position.objects.select_related("organisation", "user").filter(pk=pk).first()
    if position is None or not permissions.can(user, "person.manage", position.organisation):
        raise Http404(_("Không tìm thấy vị trí công tác."))
    try:
        people_service.end_position(actor=user, position=position)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã kết thúc vị trí công tác."))
    return redirect("core:person_detail", pk=position.user_id)


# --- Working-day calendar --------------------------------------------------------------------


def _calendar_year(request) -> int:
    try:
        year = int(request.GET.get("nam") or request.POST.get("nam") or 0)
    except ValueError:
        year = 0
    if not calendar_service.MIN_YEAR <= year <= calendar_service.MAX_YEAR:
        year = timezone.localdate().year
    return year


def _overrides_visible_to(user):
    orgs = permissions.organisations_for(user, "calendar.manage")
    return CalendarOverride.objects.filter(
        Q(organisation__isnull=True) | Q(organisation__in=orgs)
    ).select_related("organisation", "created_by")


def _calendar_page(request, form, year: int, status: int = 200):
    user = request.user
    try:
        year_calendar = calendar_service.holidays_of_year(year)
    except errors.DomainError as exc:
        year_calendar = None
        messages.error(request, exc.message)
    overrides = _overrides_visible_to(user).filter(date__year=year).order_by("date")
    context = {
        "year": year,
        "years": [year - 1, year, year + 1],
        "year_calendar": year_calendar,
        "overrides": overrides,
        "form": form,
    }
    return render(request, "core/calendar.html", context, status=status)


@page("calendar.manage")
def calendar(request):
    return _calendar_page(request, OverrideForm(user=request.user), _calendar_year(request))


@page("calendar.manage")
def calendar_override_create(request):
    user = request.user
    if request.method != "POST":
        return redirect("core:calendar")
    form = OverrideForm(request.POST, user=user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            override = calendar_service.create_override(
                actor=user,
                date=data["date"],
                kind=data["kind"],
                reason=data["reason"],
                organisation=data["organisation"],
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            messages.success(
                request,
                _("Đã thêm điều chỉnh lịch ngày %(date)s.")
                % {"date": override.date.strftime("%d/%m/%Y")},
            )
            return redirect(f"{reverse('core:calendar')}?nam={override.date.year}")
    year = form.cleaned_data.get("date").year if form.cleaned_data.get("date") else None
    return _calendar_page(request, form, year or _calendar_year(request), status=400)


@require_POST
@page("calendar.manage")
def calendar_override_delete(request, pk: int):
    user = request.user
    override = _overrides_visible_to(user).filter(pk=pk).first()
    if override is None:
        raise Http404(_("Không tìm thấy điều chỉnh lịch."))
    try:
        calendar_service.delete_override(actor=user, override=override)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Đã xóa điều chỉnh lịch ngày %(date)s.")
            % {"date": override.date.strftime("%d/%m/%Y")},
        )
    return redirect(f"{reverse('core:calendar')}?nam={override.date.year}")


# --- Audit trail -----------------------------------------------------------------------------


def _filter_audit(entries, data: dict):
    action = (data.get("action") or "").strip()
    if action:
        if action.endswith((".", "*")):
            entries = entries.filter(action__startswith=action.rstrip("*"))
        else:
            entries = entries.filter(action=action)
    actor = (data.get("actor") or "").strip()
    if actor:
        entries = entries.filter(
            Q(actor__username=actor) | Q(actor_label=actor) | Q(actor__full_name__icontains=actor)
        )
    if data.get("object_type"):
        entries = entries.filter(object_type=data["object_type"].strip().lower())
    if data.get("object_id"):
        entries = entries.filter(object_id=data["object_id"].strip())
    if data.get("date_from"):
        entries = entries.filter(at__gte=_local_day_bounds(data["date_from"])[0])
    if data.get("date_to"):
        entries = entries.filter(at__lt=_local_day_bounds(data["date_to"])[1])
    return entries


@page("audit.view")
def audit(request):
    entries = queries.audit_entries_visible_to(request.user).order_by("-id")
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        entries = _filter_audit(entries, form.cleaned_data)
    elif form.is_bound:
        entries = entries.none()
    page_obj = Paginator(entries, AUDIT_PER_PAGE).get_page(_page_number(request))
    for entry in page_obj:
        entry.label = label_for(entry.action)
    context = {
        "form": form,
        "page_obj": page_obj,
        "known_actions": sorted((code, str(label)) for code, label in LABELS.items()),
    }
    return render(request, "core/audit.html", context)


@require_POST
@page("audit.view")
def audit_verify(request):
    result = audit_service.verify()
    if result.ok:
        messages.success(
            request,
            _("Chuỗi nhật ký toàn vẹn: đã kiểm tra %(count)s bản ghi, không phát hiện sửa đổi.")
            % {"count": result.checked},
        )
    else:
        messages.error(
            request,
            _(
                "Phát hiện nhật ký bị can thiệp tại bản ghi số %(id)s: %(reason)s. "
                "Đã kiểm tra hợp lệ %(count)s bản ghi trước đó."
            )
            % {"id": result.broken_entry_id, "reason": result.reason, "count": result.checked},
        )
    return redirect("core:audit")


# --- API keys --------------------------------------------------------------------------------


def _api_keys_visible_to(user):
    orgs = permissions.organisations_for(user, "apikey.manage")
    return ApiKey.objects.filter(organisation__in=orgs).select_related("organisation", "created_by")


@never_cache
@page("apikey.manage")
def apikeys(request):
    user = request.user
    form = ApiKeyForm(request.POST if request.method == "POST" else None, user=user)
    new_key = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        expires_at = _local_day_bounds(data["expires_on"])[1] if data["expires_on"] else None
        try:
            key, new_key = apikey_service.create_api_key(
                actor=user,
                organisation=data["organisation"],
                name=data["name"],
                scopes=data["scopes"],
                expires_at=expires_at,
            )
        except errors.DomainError as exc:
            form.add_domain_error(exc)
        else:
            form = ApiKeyForm(user=user)
    scope_labels = apikey_service.KNOWN_SCOPES
    keys = list(_api_keys_visible_to(user).order_by("-created_at"))
    for key in keys:
        # (code, Vietnamese label) per scope; a code no longer known is shown as it is.
        key.scope_items = [(code, scope_labels.get(code, code)) for code in key.scopes]
    context = {
        "form": form,
        "new_key": new_key,
        "keys": keys,
        "now": timezone.now(),
        "scope_labels": scope_labels,
    }
    # The new key is in this response only: never cached, never put in the session.
    return render(request, "core/apikeys.html", context)


@require_POST
@page("apikey.manage")
def apikey_revoke(request, pk: int):
    key = _api_keys_visible_to(request.user).filter(pk=pk).first()
    if key is None:
        raise Http404(_("Không tìm thấy khóa API."))
    try:
        apikey_service.revoke_api_key(actor=request.user, key=key)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã thu hồi khóa %(name)s.") % {"name": key.name})
    return redirect("core:apikeys")


urlpatterns = [
    path("quan-tri/co-quan/", organisations, name="organisations"),
    path("quan-tri/co-quan/them/", organisation_create, name="organisation_create"),
    path("quan-tri/co-quan/hop-nhat/", organisation_merge, name="organisation_merge"),
    path("quan-tri/co-quan/<int:pk>/", organisation_detail, name="organisation_detail"),
    path("quan-tri/co-quan/<int:pk>/sua/", organisation_edit, name="organisation_edit"),
    path("quan-tri/don-vi-hanh-chinh/xa/", admin_unit_options, name="admin_unit_options"),
    path("quan-tri/can-bo/", people, name="people"),
    path("quan-tri/can-bo/them/", person_create, name="person_create"),
    path("quan-tri/can-bo/<int:pk>/", person_detail, name="person_detail"),
    path("quan-tri/can-bo/<int:pk>/vi-tri/them/", position_add, name="position_add"),
    path("quan-tri/vi-tri/<int:pk>/ket-thuc/", position_end, name="position_end"),
    path("quan-tri/lich-lam-viec/", calendar, name="calendar"),
    path("quan-tri/lich-lam-viec/them/", calendar_override_create, name="calendar_override_create"),
    path(
        "quan-tri/lich-lam-viec/<int:pk>/xoa/",
        calendar_override_delete,
        name="calendar_override_delete",
    ),
    path("quan-tri/nhat-ky/", audit, name="audit"),
    path("quan-tri/nhat-ky/kiem-tra/", audit_verify, name="audit_verify"),
    path("quan-tri/khoa-api/", apikeys, name="apikeys"),
    path("quan-tri/khoa-api/<int:pk>/thu-hoi/", apikey_revoke, name="apikey_revoke"),
]
