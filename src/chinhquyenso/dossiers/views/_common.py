"""What the one-stop pages share: the access decorator and small helpers."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from chinhquyenso.core import errors, permissions
from chinhquyenso.core.models import Organisation

PER_PAGE = 25
STALE_MESSAGE = "Hồ sơ vừa được người khác cập nhật, vui lòng tải lại."


def not_found(request, message: str):
    context = {"status": 404, "title": _("Không tìm thấy"), "message": message}
    return render(request, "error.html", context, status=404)


def bad_request(request, message: str):
    context = {"status": 400, "title": _("Yêu cầu không hợp lệ"), "message": message}
    return render(request, "error.html", context, status=400)


def page(action: str | None):
    """Signed in, and allowed `action` somewhere (None: any official). A service's NotFound
    becomes the Vietnamese 404 page, its PermissionDenied the 403 page, and a ValidationFailed
    the view did not turn into a form error the 400 page with its message (never a 500)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            allowed = (
                permissions.can(user, action)
                if action is not None
                else (user.is_superuser or bool(permissions.active_positions(user)))
            )
            if not allowed:
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except errors.NotFound as exc:
                return not_found(request, exc.message)
            except errors.PermissionDenied:
                raise PermissionDenied from None
            except errors.ValidationFailed as exc:
                return bad_request(request, exc.message)

        return wrapped

    return decorator


def organisations_where(user, action: str) -> list[Organisation]:
    """The organisations of `user`'s positions whose role allows `action` (the top of each
    subtree they act in), most senior first; every active top organisation for a superuser."""
    if user.is_superuser:
        return list(Organisation.objects.filter(parent__isnull=True).order_by("name"))
    roles = permissions.roles_for(action)
    seen: dict[int, Organisation] = {}
    for p in permissions.active_positions(user):
        if p.role in roles:
            seen.setdefault(p.organisation.pk, p.organisation)
    return sorted(seen.values(), key=lambda o: (o.depth, o.name))


def chosen_organisation(request, organisations: list[Organisation], param: str = "to_chuc"):
    """The organisation picked in `?to_chuc=` among `organisations` (the first by default)."""
    wanted = request.GET.get(param) or request.POST.get(param)
    for org in organisations:
        if str(org.pk) == str(wanted):
            return org
    return organisations[0] if organisations else None
