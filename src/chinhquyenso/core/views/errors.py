"""Error pages: Vietnamese for people, the API's JSON shape under /api/. Never a stack trace."""

from django.http import JsonResponse
from django.shortcuts import render

MESSAGES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    403: ("permission_denied", "Bạn không có quyền truy cập trang này."),
    404: ("not_found", "Không tìm thấy trang hoặc đối tượng bạn yêu cầu."),
    500: ("server_error", "Lỗi hệ thống. Vui lòng thử lại sau ít phút."),
}


def _respond(request, status: int):
    code, message = MESSAGES[status]
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "details": None}, status=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def bad_request(request, exception=None):
    return _respond(request, 400)


def forbidden(request, exception=None):
    return _respond(request, 403)


def not_found(request, exception=None):
    return _respond(request, 404)


def server_error(request):
    return _respond(request, 500)
