"""Public status pages (no sign-in): the search box at /tra-cuu/ and /tra-cuu/<code>/, which the
QR code on the receipt opens. Thin: rate limit -> public.lookup -> template."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from chinhquyenso.core import errors
from chinhquyenso.dossiers import forms as f
from chinhquyenso.dossiers import public, rating_queries
from chinhquyenso.dossiers.models import SatisfactionLevel
from chinhquyenso.dossiers.services import rating as rating_service

KIOSK_LEVELS = [
    (SatisfactionLevel.VERY_SATISFIED, "success", "★★★"),
    (SatisfactionLevel.SATISFIED, "primary", "★★☆"),
    (SatisfactionLevel.DISSATISFIED, "danger", "★☆☆"),
]


def _rate_limited(request, decision):
    response = render(
        request,
        "dossiers/public/lookup.html",
        {"error": decision.message, "query": ""},
        status=429,
    )
    response["Retry-After"] = str(decision.retry_after)
    return response


@require_GET
def lookup_page(request):
    """The search box; a submitted code goes to its page (a redirect, so the URL can be shared)."""
    query = request.GET.get("ma", "").strip()
    if not query:
        return render(request, "dossiers/public/lookup.html", {"query": ""})
    code = public.normalise_code(query)
    if code is None:
        decision = public.check_rate(request)
        if not decision.allowed:
            return _rate_limited(request, decision)
        return render(
            request,
            "dossiers/public/lookup.html",
            {"query": query, "error": public.NOT_FOUND_MESSAGE},
            status=404,
        )
    return redirect("public:dossier", code=code)


@require_GET
def dossier_page(request, code: str):
    decision = public.check_rate(request)
    if not decision.allowed:
        return _rate_limited(request, decision)
    try:
        found = public.lookup(code)
    except public.DossierNotFound as exc:
        return render(
            request,
            "dossiers/public/lookup.html",
            {"query": code, "error": exc.message},
            status=404,
        )
    return render(request, "dossiers/public/dossier.html", {"dossier": found, "query": code})


def kiosk_page(request, *, code, organisation_name, done, ratable, rate, again):
    """The satisfaction form (the desk's kiosk and the rating link): only the dossier's code and
    the desk are shown. `rate(level=, criteria=, comment=)` records the rating through the
    service; `again` is where a recorded rating redirects (the thanks)."""
    form = f.KioskForm(request.POST or None)
    error, status = "", 200
    if request.method == "POST" and not done:
        if form.is_valid():
            try:
                rate(
                    level=form.cleaned_data["level"],
                    criteria=form.criteria(),
                    comment=form.cleaned_data["comment"],
                )
            except errors.DomainError as exc:
                error, status = exc.message, 400
            else:
                return redirect(again)
        else:
            error, status = form.error_text(), 400  # what is wrong: the level, the comment…
    elif not ratable and not done:
        error = "Hồ sơ chưa có kết quả nên chưa thể đánh giá."
    context = {
        "code": code,
        "organisation_name": organisation_name,
        "form": form,
        "done": done,
        "error": error,
        "levels": KIOSK_LEVELS,
    }
    return render(request, "dossiers/kiosk.html", context, status=status)


@require_http_methods(["GET", "POST"])
def rating_link(request, token: str):
    """The satisfaction form opened from the rating link's QR code, on the desk's tablet or the
    applicant's phone, without signing in: the dossier's code and desk only, one rating."""
    try:
        target = rating_queries.rating_link_target(token)
    except errors.NotFound as exc:
        context = {"status": 404, "title": "Không mở được trang đánh giá", "message": exc.message}
        return render(request, "error.html", context, status=404)
    return kiosk_page(
        request,
        code=target.code,
        organisation_name=target.organisation_name,
        done=target.rated,
        ratable=target.ratable,
        rate=lambda **rating: rating_service.rate_with_link(token=token, **rating),
        again=reverse("public:rating_link", args=[token]),
    )
