"""/quan-tri/tac-vu/: recent background task results for administrators ("tasks.view")."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django_tasks.base import TaskResultStatus

from chinhquyenso.core import permissions, tasks

PAGE_SIZE = 50


@login_required
def task_list(request):
    if not permissions.can(request.user, "tasks.view"):
        raise PermissionDenied
    status = request.GET.get("trang-thai", "")
    if status not in TaskResultStatus.values:
        status = ""
    page = Paginator(tasks.task_results(status=status or None), PAGE_SIZE).get_page(
        request.GET.get("trang")
    )
    rows = [
        {
            "result": result,
            "status_label": tasks.STATUS_LABELS.get(result.status, result.status),
            "task_name": result.task_name,
            "attempt": tasks.attempt_of(result),
            "max_attempts": tasks.max_attempts_of(result),
            "last_error": tasks.last_error(result)
            if result.status == TaskResultStatus.FAILED
            else "",
        }
        for result in page.object_list
    ]
    return render(
        request,
        "core/tasks.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": [(value, tasks.STATUS_LABELS[value]) for value in TaskResultStatus.values],
        },
    )


urlpatterns = [
    path("quan-tri/tac-vu/", task_list, name="tasks"),
]
