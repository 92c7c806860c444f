"""Background work of the signing module (STYLE.md habit 6: tasks only call services, are safe
to run twice).

`send_expiry_warnings`: tell holders of registered certificates 30, 7 and 1 days before expiry,
once per threshold (`expiry.warn_expiry` claims each threshold with a conditional UPDATE).
There is no scheduler in the platform: operators run `cqs signing_expiry_warnings` daily (cron or
a systemd timer, docs/van-hanh.md), which calls the same service; the task lets an administrator
page or another task queue a run on the worker.
"""

from __future__ import annotations

from django_tasks import task

from chinhquyenso.core.tasks import retrying


@task()
@retrying(max_attempts=3, backoff_seconds=300)
def send_expiry_warnings() -> str:
    from chinhquyenso.signing import expiry

    sent = expiry.send_expiry_warnings()
    return ", ".join(f"{days} ngày: {count}" for days, count in sorted(sent.items())) or "0"
