"""The leader's supervision figures (issue #3): received, in progress, awaiting supplement and
finished, by channel, procedure and official, for an organisation and its subtree.

Every count carries the filters (`queries.filter_q` vocabulary) that list exactly the dossiers
counted, so a figure on the leader's page clicks through to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from chinhquyenso.core import permissions
from chinhquyenso.core.models import Organisation, User
from chinhquyenso.dossiers import timeliness
from chinhquyenso.dossiers.models import Channel, Dossier, FinishedHandler, Timeliness
from chinhquyenso.dossiers.permissions import SUPERVISE
from chinhquyenso.dossiers.queries import (
    IN_PROGRESS,
    NON_FINAL_STATUSES,
    check_period,
    filter_q,
    local_day,
    organisation_q,
    start_of,
    subtree_or_everything,
)
from chinhquyenso.dossiers.services.deadlines import TZ


@dataclass(frozen=True)
class Figure:
    value: int
    # The `filter_q` vocabulary listing exactly these dossiers (ids and ISO dates).
    filters: dict


@dataclass
class Supervision:
    organisation: Organisation
    period: tuple[date, date]
    today: date
    received_today: dict[str, Figure] = field(default_factory=dict)  # "total", channel values
    received_period: dict[str, Figure] = field(default_factory=dict)
    in_progress: dict[str, Figure] = field(default_factory=dict)  # in_time, overdue
    awaiting_supplement: Figure | None = None
    finished: dict[str, Figure] = field(default_factory=dict)  # early, on_time, late
    by_procedure: list[dict] = field(default_factory=list)
    by_official: list[dict] = field(default_factory=list)


def _period(period, today: date) -> tuple[date, date]:
    if period is None:
        return today.replace(day=1), today
    start, end = period
    start, end = local_day(start, "period"), local_day(end, "period")
    check_period(start, end)
    return start, end


def supervision_counts(
    user, organisation: Organisation, period=None, *, now: datetime | None = None
) -> Supervision:
    """The leader's figures for `organisation` (and its subtree): received today and in the
    period (default: this month) by channel, in progress in time / late, awaiting supplement,
    finished in the period early / on time / late, by procedure and by official.

    Five queries whatever the number of dossiers: the subtree's ids, every figure grouped by
    procedure, in progress by handler, finished by official, the officials' names. Requires
    "dossier.supervise" on the organisation.
    """
    permissions.require(user, SUPERVISE, organisation)
    now = now or timezone.now()
    today = now.astimezone(TZ).date()
    start, end = _period(period, today)
    org = {"organisation": organisation.pk}
    day_f = {"received_from": today.isoformat(), "received_to": today.isoformat()}
    period_received = {"received_from": start.isoformat(), "received_to": end.isoformat()}
    period_finished = {"finished_from": start.isoformat(), "finished_to": end.isoformat()}

    figures: dict[str, dict] = {}

    def spec(name: str, filters: dict) -> None:
        figures[name] = {**org, **filters}

    spec("today:total", day_f)
    spec("period:total", period_received)
    for channel in Channel:
        spec(f"today:{channel.value}", {**day_f, "channel": channel.value})
        spec(f"period:{channel.value}", {**period_received, "channel": channel.value})
    spec("progress:in_time", {"progress": "in_time"})
    spec("progress:overdue", {"progress": "overdue"})
    spec("supplement", {"progress": "awaiting_supplement"})
    for state in Timeliness:
        spec(f"finished:{state.value}", {**period_finished, "timeliness": state.value})

    subtree, everything = subtree_or_everything(organisation)
    # The whole tree (a province's own installation): no organisation filter at all, which is
    # the same set and lets the planner estimate the period's rows right.
    in_scope = Q() if everything else organisation_q(organisation, subtree)
    base = Dossier.objects.filter(in_scope)
    # Every figure of the aggregate (by procedure) query counts only dossiers received or
    # finished since the earliest day shown, or still running: narrowing to that set changes no
    # figure and lets the received_at / finished_at / status indexes skip the old finished ones.
    since = start_of(min(start, today))
    narrowed = base.filter(
        Q(received_at__gte=since) | Q(finished_at__gte=since) | Q(status__in=NON_FINAL_STATUSES)
    )

    def local_filters(f: dict) -> dict:
        return {k: v for k, v in f.items() if k != "organisation"}

    # One grouped query: every figure per procedure (and version, for its name); the totals are
    # the sums of the groups (each dossier is in exactly one group). Unordered in SQL (the few
    # groups are sorted here), so the database need not sort every row by procedure name.
    counts = {
        name.replace(":", "__"): Count("id", filter=filter_q(local_filters(f), now=now))
        for name, f in figures.items()
    }
    rows = list(
        narrowed.values(
            "procedure_id",
            "procedure_version_id",
            "procedure__national_code",
            "procedure_version__name",
        )
        .annotate(**counts)
        .order_by()
    )
    totals = {key: sum(row[key] for row in rows) for key in counts}

    def fig(name: str, extra: dict | None = None) -> Figure:
        return Figure(totals[name.replace(":", "__")], {**figures[name], **(extra or {})})

    result = Supervision(organisation=organisation, period=(start, end), today=today)
    result.received_today = {"total": fig("today:total")} | {
        str(ch.value): fig(f"today:{ch.value}") for ch in Channel
    }
    result.received_period = {"total": fig("period:total")} | {
        str(ch.value): fig(f"period:{ch.value}") for ch in Channel
    }
    result.in_progress = {"in_time": fig("progress:in_time"), "overdue": fig("progress:overdue")}
    result.awaiting_supplement = fig("supplement")
    result.finished = {s.value: fig(f"finished:{s.value}") for s in Timeliness}

    # By procedure: the same rows, merged per procedure (named after its first version by
    # code and name, as listed).
    group = {
        "received": "period:total",
        "in_time": "progress:in_time",
        "overdue": "progress:overdue",
        "supplement": "supplement",
        "early": "finished:early",
        "on_time": "finished:on_time",
        "late": "finished:late",
    }
    by_procedure: dict[int, dict] = {}
    rows.sort(key=lambda r: (r["procedure__national_code"], r["procedure_version__name"]))
    for row in rows:
        pid = row["procedure_id"]
        entry = by_procedure.setdefault(
            pid,
            {
                "procedure_id": pid,
                "code": row["procedure__national_code"],
                "name": row["procedure_version__name"],
                **{
                    key: Figure(0, {**figures[name], "procedure": pid})
                    for key, name in group.items()
                },
            },
        )
        for key, name in group.items():
            value = row[name.replace(":", "__")]
            entry[key] = Figure(entry[key].value + value, entry[key].filters)
    result.by_procedure = [e for e in by_procedure.values() if any(e[k].value for k in group)]

    # By official: in progress by current handler; finished in the period by whoever handled a
    # step of the dossier. Two grouped queries by user id, then the names in one query.
    officials: dict[int, dict] = {}

    def official(uid) -> dict:
        return officials.setdefault(
            uid,
            {
                "user_id": uid,
                "name": "",
                "in_time": Figure(0, {**figures["progress:in_time"], "handler": uid}),
                "overdue": Figure(0, {**figures["progress:overdue"], "handler": uid}),
                **{
                    s.value: Figure(0, {**figures[f"finished:{s.value}"], "handled_by": uid})
                    for s in Timeliness
                },
            },
        )

    for row in (
        base.filter(current_handler__isnull=False, status__in=IN_PROGRESS)
        .values("current_handler_id")
        .annotate(
            n_in_time=Count("id", filter=timeliness.in_time_q(now)),
            n_overdue=Count("id", filter=timeliness.overdue_q(now)),
        )
        .order_by()
    ):
        entry = official(row["current_handler_id"])
        entry["in_time"] = Figure(row["n_in_time"], entry["in_time"].filters)
        entry["overdue"] = Figure(row["n_overdue"], entry["overdue"].filters)
    # Finished by official: a grouped scan of the write-side summary (one row per finished
    # dossier and official who handled one of its steps, with the dossier's end instant, on-time
    # result and organisation columns), so no join with the step runs and no DISTINCT. The
    # same dossiers as the click-through (`handled_by`: any step run of the dossier).
    finished_by_official = FinishedHandler.objects.filter(
        Q() if everything else organisation_q(organisation, subtree),
        finished_at__gte=start_of(start),
        finished_at__lt=start_of(end + timedelta(days=1)),
    )
    for row in (
        finished_by_official.values("handler_id")
        .annotate(
            **{f"n_{s.value}": Count("timeliness", filter=Q(timeliness=s)) for s in Timeliness}
        )
        .order_by()
    ):
        entry = official(row["handler_id"])
        for s in Timeliness:
            entry[s.value] = Figure(row[f"n_{s.value}"], entry[s.value].filters)
    if officials:
        for uid, full_name, username in User.objects.filter(pk__in=list(officials)).values_list(
            "id", "full_name", "username"
        ):
            officials[uid]["name"] = full_name or username
    result.by_official = sorted(officials.values(), key=lambda e: (e["name"] or "").lower())
    return result
