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


# Where a value came from, as pydantic / django-ninja name it: not part of the field's name.
_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file", "payload", "filters"}


def _field(loc) -> str:
    return ".".join(str(part) for part in loc if str(part) not in _SOURCES)


def _problem(err: dict) -> str:
    """One validation error in Vietnamese, naming the field: the API's users read `message`;
    `details` keeps pydantic's own list for programs."""
    field = _field(err.get("loc") or ())
    kind = str(err.get("type", ""))
    if not field:
        return "nội dung yêu cầu không đúng định dạng JSON mong đợi"
    if kind == "missing":
        return f"thiếu trường “{field}”"
    if kind.endswith(("_parsing", "_type")) or kind in ("model_attributes_type", "dict_type"):
        return f"trường “{field}” sai kiểu dữ liệu"
    if kind in ("string_too_long", "too_long"):
        return f"trường “{field}” quá dài"
    if kind in ("string_too_short", "too_short"):
        return f"trường “{field}” quá ngắn"
    if kind == "extra_forbidden":
        return f"trường “{field}” không được phép"
    return f"trường “{field}” không hợp lệ"


@api.exception_handler(ValidationError)
def _validation_error(request, exc: ValidationError):
    errors = list(exc.errors or [])
    message = "Yêu cầu không hợp lệ."
    if errors:
        more = f" (và {len(errors) - 1} lỗi khác)" if len(errors) > 1 else ""
        message = f"Yêu cầu không hợp lệ: {_problem(errors[0])}{more}."
    return error(request, 422, "invalid_request", message, exc.errors)


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
