"""Error pages: Vietnamese for people, the API's JSON shape under /api/. Never a stack trace."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext_lazy as _

MESSAGES = {
    400: ("bad_request", _("Yêu cầu không hợp lệ.")),
    403: ("permission_denied", _("Bạn không có quyền truy cập trang này.")),
    404: ("not_found", _("Không tìm thấy trang hoặc đối tượng bạn yêu cầu.")),
    500: ("server_error", _("Lỗi hệ thống. Vui lòng thử lại sau ít phút.")),
}
TITLES = {
    400: _("Yêu cầu không hợp lệ"),
    403: _("Không có quyền truy cập"),
    404: _("Không tìm thấy"),
    500: _("Lỗi hệ thống"),
}


def _context(status: int) -> dict:
    return {"status": status, "title": TITLES[status], "message": MESSAGES[status][1]}


def _respond(request, status: int):
    code, message = MESSAGES[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": str(message), "details": None}, status=status)
    return render(request, "error.html", _context(status), status=status)


def bad_request(request, exception=None):
    return _respond(request, 400)


def forbidden(request, exception=None):
    return _respond(request, 403)


def not_found(request, exception=None):
    return _respond(request, 404)


def csrf_failure(request, reason=""):
    """For settings.CSRF_FAILURE_VIEW: usually a form left open too long, or cookies blocked."""
    if request.path.startswith("/api/"):
        return _respond(request, 403)
    context = {
        "status": 403,
        "title": _("Biểu mẫu đã hết hạn"),
        "message": _(
            "Biểu mẫu đã hết hạn hoặc trình duyệt đang chặn cookie. Vui lòng tải lại trang và "
            "thử lại."
        ),
    }
    return render(request, "error.html", context, status=403)


def server_error(request):
    if request.path.startswith("/api/"):
        return _respond(request, 500)
    # No request context here: the context processors read the database, which may be what
    # failed. The page still has the shell, without the menu.
    html = loader.get_template("error.html").render({**_context(500), "minimal": True})
    return HttpResponseServerError(html)
