"""Domain errors: services raise these, handlers and the CLI turn them into answers."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An error a user can act on; ``code`` and ``status`` follow the contract."""

    code = "error"
    status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers: dict[str, str] = {}


class Invalid(DomainError):
    code = "invalid"
    status = 422


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class TooManyRequests(DomainError):
    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after)}
