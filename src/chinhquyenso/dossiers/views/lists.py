"""Lists: an official's queue, the filtered list (the click-through of the supervision
figures), the supervision page with ratings, and the Form 06 register download."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from chinhquyenso.core import errors, permissions
from chinhquyenso.dossiers import (
    privacy,
    queries,
    rating_queries,
    register_xlsx,
    supervision_queries,
    timeliness,
)
from chinhquyenso.dossiers.forms import PeriodForm
from chinhquyenso.dossiers.models import Channel, Status, Timeliness
from chinhquyenso.dossiers.permissions import SUPERVISE
from chinhquyenso.dossiers.views._common import (
    PER_PAGE,
    chosen_organisation,
    organisations_where,
    page,
)

QUEUE_TABS = [
    ("to_handle", "Cần xử lý"),
    ("due_soon", "Sắp đến hạn"),
    ("late", "Quá hạn"),
    ("waiting_others", "Chờ người khác"),
]


def _paginate(request, qs, count: int | None = None):
    paginator = Paginator(qs, PER_PAGE)
    if count is not None:
        paginator.count = count  # already counted (the queue's tab): not counted again
    page_obj = paginator.get_page(request.GET.get("trang"))
    now = timezone.now()
    rows = list(page_obj.object_list)
    visible = privacy.personal_data_visible(request.user, rows)
    for d in rows:
        d.state = timeliness.evaluate(d, now=now)
        d.shown_applicant = privacy.shown_name(d, visible)  # whole or masked (privacy.py)
    page_obj.object_list = rows
    return page_obj


@page(None)
@require_GET
def queue(request):
    """The official's queue, four tabs, soonest due first (bounded queries: one count per
    tab, the shown tab's page of rows and their organisations)."""
    tab = request.GET.get("tab", "to_handle")
    if tab not in dict(QUEUE_TABS):
        tab = "to_handle"
    now = timezone.now()
    tabs = [
        {
            "key": key,
            "label": label,
            "count": queries.queue_for(request.user, key, now=now).count(),
            "active": key == tab,
        }
        for key, label in QUEUE_TABS
    ]
    count = next(t["count"] for t in tabs if t["active"])
    page_obj = _paginate(request, queries.queue_for(request.user, tab, now=now), count)
    return render(request, "dossiers/queue.html", {"tabs": tabs, "tab": tab, "page_obj": page_obj})


@page(None)
@require_GET
def dossier_list(request):
    """Dossiers matching the `filtered_dossiers` vocabulary in the query string."""
    filters = {
        k: v for k, v in request.GET.items() if k in queries.FILTER_KEYS and v not in ("", None)
    }
    try:
        qs = queries.filtered_dossiers(request.user, filters)
        page_obj = _paginate(request, qs)
    except errors.ValidationFailed as exc:
        return render(
            request,
            "dossiers/list.html",
            {"error": exc.message, "page_obj": None, "filters": filters},
            status=400,
        )
    return render(
        request,
        "dossiers/list.html",
        {"page_obj": page_obj, "filters": _describe(filters)},
    )


def _number(value) -> int | None:
    """`value` as an int if it is written in ASCII digits, else None ("²".isdigit() is true but
    int("²") fails)."""
    text = str(value)
    return int(text) if text.isascii() and text.isdigit() else None


def _describe(filters: dict) -> list[str]:
    """Readable chips for the filters in force."""
    labels = {
        "received_from": "Tiếp nhận từ",
        "received_to": "Tiếp nhận đến",
        "finished_from": "Kết thúc từ",
        "finished_to": "Kết thúc đến",
    }
    progress = {
        "in_time": "Đang xử lý trong hạn",
        "overdue": "Đang xử lý quá hạn",
        "awaiting_supplement": "Chờ bổ sung",
    }
    out = []
    for key, value in filters.items():
        if key == "channel" and _number(value) in Channel.values:
            out.append(f"Kênh: {Channel(_number(value)).label}")
        elif key == "status" and _number(value) in Status.values:
            out.append(f"Trạng thái: {Status(_number(value)).label}")
        elif key == "progress":
            out.append(progress.get(value, value))
        elif key == "timeliness" and value in Timeliness.values:
            out.append(f"Đã kết thúc: {Timeliness(value).label}")
        elif key in labels:
            try:
                out.append(f"{labels[key]} {date.fromisoformat(value):%d/%m/%Y}")
            except ValueError:
                out.append(f"{labels[key]} {value}")
    return out


def list_url(filters: dict, base: str | None = None) -> str:
    return f"{base or reverse('dossiers:list')}?{urlencode(filters)}"


def _figures(s) -> dict:
    """The supervision figures as {value, url} (each clicks through to its dossiers). The list's
    address is resolved once: a province's page has some 800 figures."""
    base = reverse("dossiers:list")

    def _link(fig) -> dict:
        return {"value": fig.value, "url": list_url(fig.filters, base)}

    received = [("total", "Tổng số")] + [(str(ch.value), ch.label) for ch in Channel]
    group = ("received", "in_time", "overdue", "supplement", "early", "on_time", "late")
    return {
        "received": [
            {
                "label": label,
                "today": _link(s.received_today[key]),
                "period": _link(s.received_period[key]),
            }
            for key, label in received
        ],
        "in_time": _link(s.in_progress["in_time"]),
        "overdue": _link(s.in_progress["overdue"]),
        "supplement": _link(s.awaiting_supplement),
        "finished": [
            {"key": t.value, "label": t.label, **_link(s.finished[t.value])} for t in Timeliness
        ],
        "by_procedure": [
            {"code": e["code"], "name": e["name"], **{k: _link(e[k]) for k in group}}
            for e in s.by_procedure
        ],
        "by_official": [
            {
                "name": e["name"],
                **{k: _link(e[k]) for k in ("in_time", "overdue", "early", "on_time", "late")},
            }
            for e in s.by_official
        ],
    }


def _check_period(form: PeriodForm, start: date, end: date) -> bool:
    """Whether the figures and the register accept [start, end] (`queries.check_period`); if
    not, the reason goes on `form`, so the page says what to correct."""
    try:
        queries.check_period(start, end)
    except errors.ValidationFailed as exc:
        form.add_error(None, exc.message)
        return False
    return True


@page(SUPERVISE)
@require_GET
def supervision(request):
    """The figures of the chosen organisation for a period (default: this month). A bad
    filter shows the page of the default period with the form's errors, status 400."""
    organisations = organisations_where(request.user, SUPERVISE)
    form = PeriodForm(request.GET or None, organisations=organisations)
    org = chosen_organisation(request, organisations)
    period = None
    status = 200
    if not form.is_bound:
        form = PeriodForm(initial={"to_chuc": org.pk if org else None}, organisations=organisations)
    elif not form.is_valid():
        status = 400
    elif form.cleaned_data.get("tu") or form.cleaned_data.get("den"):
        # As the register reads them: no end, today; no start, the first day of the end's month.
        end = form.cleaned_data.get("den") or timezone.localdate()
        wanted = (form.cleaned_data.get("tu") or end.replace(day=1), end)
        if _check_period(form, *wanted):
            period = wanted
        else:
            status = 400
    counts = supervision_queries.supervision_counts(request.user, org, period)
    ratings = rating_queries.rating_summary(request.user, org)
    figures = _figures(counts)
    return render(
        request,
        "dossiers/supervision.html",
        {
            "form": form,
            "organisation": org,
            "s": counts,
            "f": figures,
            "ratings": ratings,
            "channels": list(Channel),
            "register_start": counts.period[0],
            "register_end": counts.period[1],
        },
        status=status,
    )


@page(SUPERVISE)
@require_GET
def register(request):
    """Form 06 (Sổ theo dõi hồ sơ) as Excel for an organisation and a date range. A bad
    period, or a register the active form set cannot print, is the form again with the
    reason, status 400."""
    organisations = organisations_where(request.user, SUPERVISE)
    form = PeriodForm(request.GET, organisations=organisations)
    if not form.is_valid():
        return _register_refused(request, form)
    org = next(o for o in organisations if o.pk == form.cleaned_data["to_chuc"])
    if not permissions.can(request.user, SUPERVISE, org):
        raise PermissionDenied
    end = form.cleaned_data.get("den") or timezone.localdate()
    start = form.cleaned_data.get("tu") or end.replace(day=1)
    if not _check_period(form, start, end):
        return _register_refused(request, form)
    try:
        data = register_xlsx.build_register(organisation=org, start=start, end=end)
    except errors.ValidationFailed as exc:  # e.g. the active form set has no register template
        form.add_error(None, exc.message)
        return _register_refused(request, form)
    response = HttpResponse(
        data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = f"so-theo-doi-ho-so-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _register_refused(request, form: PeriodForm):
    return render(request, "dossiers/register_error.html", {"form": form}, status=400)
