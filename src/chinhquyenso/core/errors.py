"""Domain errors with stable machine-readable codes (STYLE.md habit 13).

Services raise these; the API turns them into `{"code", "message", "details"}` JSON and the
pages into a Vietnamese message. `message` is for people, `code` never changes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class ValidationFailed(DomainError):
    status = 400
    code = "validation_failed"


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


def from_django_validation(exc) -> ValidationFailed:
    """Wrap a django ValidationError (from full_clean) keeping the per-field messages."""
    if hasattr(exc, "message_dict"):
        details = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        first = next(iter(details.values()), ["Dữ liệu không hợp lệ."])[0]
    else:
        details = {"__all__": [str(m) for m in exc.messages]}
        first = details["__all__"][0]
    return ValidationFailed(first, details=details)
