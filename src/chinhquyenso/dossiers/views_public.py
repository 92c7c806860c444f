"""Public status pages (no sign-in): the search box at /tra-cuu/ and /tra-cuu/<code>/, which the
QR code on the receipt opens. Thin: rate limit -> public.lookup -> template."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from chinhquyenso.dossiers import public


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
