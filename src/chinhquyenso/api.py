"""The REST API under /api/v1/: django-ninja, one error shape for every 4xx.

Error body: {"code": "<stable_code>", "message": "<Vietnamese text>", "details": ...}
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from chinhquyenso.core.errors import DomainError

log = logging.getLogger(__name__)

api = NinjaAPI(
    title="Chính quyền số API",
    version="1",
    description="API của nền tảng Chính quyền số. Lỗi luôn có dạng {code, message, details}.",
    urls_namespace="api",
    docs_url="/docs",
)


def error(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"code": code, "message": message, "details": details}, status=status
    )


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    return error(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    return error(request, 422, "invalid_request", "Yêu cầu không hợp lệ.", exc.errors)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return error(request, 401, "not_authenticated", "Cần đăng nhập hoặc khóa API hợp lệ.")


@api.exception_handler(Http404)
def _not_found(request, exc):
    return error(request, 404, "not_found", "Không tìm thấy.")


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request, exc):
    return error(request, 403, "permission_denied", "Bạn không có quyền thực hiện thao tác này.")


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    code = {400: "bad_request", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
    return error(request, exc.status_code, code.get(exc.status_code, "error"), str(exc))


@api.exception_handler(Exception)
def _unexpected(request, exc):
    log.exception("Unhandled API error")
    return error(request, 500, "server_error", "Lỗi hệ thống. Vui lòng thử lại sau.")


from chinhquyenso.core.api import router as core_router  # noqa: E402
from chinhquyenso.dossiers.api import router as dossiers_router  # noqa: E402
from chinhquyenso.dossiers.api_public import router as public_router  # noqa: E402
from chinhquyenso.procedures.api import router as procedures_router  # noqa: E402
from chinhquyenso.signing.api import router as signing_router  # noqa: E402

# The anonymous public lookup first: it is the busiest route (every receipt's QR code), and
# URL resolution tries the routes in this order.
api.add_router("/public", public_router)
api.add_router("/", core_router)
api.add_router("/procedures", procedures_router)
api.add_router("/dossiers", dossiers_router)
api.add_router("/signatures", signing_router)
