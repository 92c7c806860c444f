"""Background work of core, and the retry helper every module's tasks use (issue #2, point 10).

Tasks use Django's tasks API through the `django-tasks` backport (`from django_tasks import
task`), with the database backend by default; the worker is `manage.py db_worker`.

Neither the API nor the database backend retries a failed task, so `retrying` does:

    @task()
    @retrying(max_attempts=5, backoff_seconds=30)
    def deliver_something(thing_id: int) -> str:
        ...

When the function raises, the wrapper enqueues the same task again with the same arguments,
`run_after` now + backoff (doubling each time, capped, with a little jitter) and the attempt
number in the reserved keyword argument `retry_attempt`, then re-raises, so the failed run keeps
its exception and traceback in django_tasks_db's result table (the tasks page lists them).
Raising `PermanentFailure` (or running out of attempts) gives up at once and calls `on_give_up`.

Task functions take ids, reload, re-check state and are safe to run twice (STYLE.md habit 6):
a retry may follow a run that did its work but failed to record it.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import task
from django_tasks.base import Task, TaskResultStatus

log = logging.getLogger(__name__)

ATTEMPT_KWARG = "retry_attempt"


class PermanentFailure(Exception):
    """Raise (or raise from) this in a task when trying again cannot help, e.g. a bad number."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    backoff_seconds: float
    max_backoff_seconds: float
    jitter: float

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        if self.jitter and base:
            base *= 1 + random.uniform(-self.jitter, self.jitter)
        return max(0.0, base)


@dataclass(frozen=True)
class RetryState:
    attempt: int
    max_attempts: int

    @property
    def is_last(self) -> bool:
        return self.attempt >= self.max_attempts


_current: contextvars.ContextVar[RetryState | None] = contextvars.ContextVar(
    "cqs_retry_state", default=None
)


def current_attempt() -> RetryState | None:
    """The attempt being run, inside a `retrying` function; None elsewhere."""
    return _current.get()


def retrying(
    *,
    max_attempts: int = 5,
    backoff_seconds: float = 30.0,
    max_backoff_seconds: float = 3600.0,
    jitter: float = 0.1,
    on_give_up: Callable[..., Any] | None = None,
):
    """Retry a task function on exception by enqueuing it again with a growing `run_after`.

    Put it *under* `@task()`, on a module-level function. `on_give_up(exc, *args, **kwargs)`
    runs once when the task stops being retried (last attempt failed, or PermanentFailure);
    it must not raise.
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    policy = RetryPolicy(max_attempts, backoff_seconds, max_backoff_seconds, jitter)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            attempt = int(kwargs.pop(ATTEMPT_KWARG, 1))
            token = _current.set(RetryState(attempt, policy.max_attempts))
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                permanent = isinstance(exc, PermanentFailure)
                if permanent or attempt >= policy.max_attempts:
                    log.warning(
                        "Task %s gave up after attempt %d/%d: %s",
                        func.__qualname__,
                        attempt,
                        policy.max_attempts,
                        exc,
                    )
                    if on_give_up is not None:
                        try:
                            on_give_up(exc, *args, **kwargs)
                        except Exception:
                            log.exception("on_give_up of %s failed", func.__qualname__)
                else:
                    try:
                        _enqueue_retry(wrapper, policy, attempt, args, kwargs)
                    except Exception:
                        # Keep the task's own error as the run's error; the outbox rows of
                        # the callers (e.g. notifications still "queued") allow a requeue.
                        log.exception("Could not enqueue a retry of %s", func.__qualname__)
                raise
            finally:
                _current.reset(token)

        wrapper.retry_policy = policy
        return wrapper

    return decorate


def _enqueue_retry(wrapper, policy: RetryPolicy, attempt: int, args, kwargs) -> None:
    task_obj = import_string(f"{wrapper.__module__}.{wrapper.__qualname__}")
    if not isinstance(task_obj, Task):
        raise TypeError(f"{wrapper.__qualname__}: put @retrying under @task()")
    delay = policy.delay(attempt)
    if task_obj.get_backend().supports_defer:
        task_obj = task_obj.using(run_after=timezone.now() + timedelta(seconds=delay))
    task_obj.enqueue(*args, **{**kwargs, ATTEMPT_KWARG: attempt + 1})
    log.info(
        "Task %s failed attempt %d/%d; retry in %.0f s",
        wrapper.__qualname__,
        attempt,
        policy.max_attempts,
        delay,
    )


# --- Queuing a task with the change it belongs to ------------------------------------------


def enqueue_with_commit(task_obj: Task, *args) -> None:
    """Queue `task_obj(*args)` so that it runs only if the caller's transaction commits.

    With the database backend (the default) the task row is written in the caller's
    transaction: it commits or rolls back with the change it belongs to, so a crash between the
    commit and the enqueue cannot lose it, and it costs no commit of its own (three per desk
    intake before: the receipt and the two notices). Any other backend could start the task
    before the commit, so there it is queued after the commit (`robust`: a lost enqueue does
    not fail a change already committed; `cqs notifications_requeue` covers the notices).
    """
    from django_tasks_db.backend import DatabaseBackend

    if isinstance(task_obj.get_backend(), DatabaseBackend):
        task_obj.enqueue(*args)
    else:
        transaction.on_commit(functools.partial(task_obj.enqueue, *args), robust=True)


# --- Reading task results (the tasks page) --------------------------------------------------


STATUS_LABELS = {
    TaskResultStatus.READY: "Đang chờ",
    TaskResultStatus.RUNNING: "Đang chạy",
    TaskResultStatus.FAILED: "Lỗi",
    TaskResultStatus.SUCCESSFUL: "Thành công",
}


def task_results(*, status: str | None = None) -> QuerySet:
    """Task results, newest first, optionally of one status. Callers check "tasks.view"."""
    from django_tasks_db.models import DBTaskResult

    qs = DBTaskResult.objects.order_by("-enqueued_at")
    if status:
        qs = qs.filter(status=status)
    return qs


def attempt_of(result) -> int:
    return int((result.args_kwargs or {}).get("kwargs", {}).get(ATTEMPT_KWARG, 1))


def max_attempts_of(result) -> int | None:
    try:
        func = import_string(result.task_path)
    except ImportError:
        return None
    policy = getattr(getattr(func, "func", None), "retry_policy", None)
    return policy.max_attempts if policy else None


def last_error(result) -> str:
    """The final line of a failed run's traceback ("ValueError: ..."), without the stack."""
    lines = [line for line in (result.traceback or "").strip().splitlines() if line.strip()]
    message = lines[-1].strip() if lines else result.exception_class_path
    return message[:500]


# --- Core tasks -----------------------------------------------------------------------------


def _notification_given_up(exc: BaseException, notification_id: int) -> None:
    from chinhquyenso.core.services import notifications

    notifications.mark_failed(notification_id=notification_id, error=exc)


@task()
@retrying(max_attempts=5, backoff_seconds=60, on_give_up=_notification_given_up)
def deliver_notification(notification_id: int) -> str:
    """Hand one e-mail or SMS notification to its channel (see services.notifications)."""
    from chinhquyenso.core.services import notifications

    return notifications.deliver(notification_id=notification_id)
