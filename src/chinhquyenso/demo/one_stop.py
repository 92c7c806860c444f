"""One-stop demo data: the real procedure catalogue, internal processes and a few hundred
dossiers in every state, so every page, queue and count of the one-stop shop shows something.

What `load()` does, in one transaction, through the services the administrators and officials
use:

1. (`demo/catalogue.py`) imports the 62 procedures taken from the national portal (`data/`) with
   `import_catalogue(system=True)` (importing the same data again changes nothing);
2. assigns commune-level procedures to every demo commune and province-level ones to the
   competent Sở (`assign_organisations`), and gives the procedures the demo uses a default
   internal process at each commune (`ensure_process`); Đăng ký khai sinh có yếu tố nước ngoài
   (2.000528) gets, at the two showcase communes, a process with a liên thông step to the Sở Tư
   pháp (the Sở follows its own default process);
3. creates `DOSSIERS` dossiers received over the past ~4 months and drives each through the
   dossier services to its planned end: received, refused, in processing, waiting for a
   supplement or a payment, withdrawn, stopped, resolved, returned (desk, post, online); some
   late with an apology (Form 04), some supplemented, some transferred to the Sở and back, some
   rated.

History is realistic because the services read the time from one function
(`dossiers.services._common.now`): while the demo runs, that function returns a simulated
clock that walks forward through working hours from each dossier's receipt, so every event,
step run, pause, due date and on-time result carries its past instant. (Audit entries and
notifications are stamped with the real time of loading.) Nothing is planned past the real
present: a dossier whose next action would fall in the future stays where it is.

Idempotence: a marker audit entry `demo.dossiers_loaded` is written with the dossiers; when
it exists the dossiers are not created again (the catalogue part is idempotent by itself).
Determinism: every choice comes from `random.Random(seed)`; the instants are relative to the
day of loading.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from chinhquyenso.core.models import AuditEntry, Organisation, Position, Role, User, UserKind
from chinhquyenso.core.services import audit
from chinhquyenso.core.services import calendar as calendar_service
from chinhquyenso.demo.catalogue import (
    BIRTH,
    FALLBACK_DEPARTMENT,
    FOREIGN_BIRTH,
    PROVINCE_FIELDS,
    TRANSFER_DEPARTMENT,
    USED,
    load_catalogue,
    load_processes,
)
from chinhquyenso.demo.plan import COMMUNES, DEFAULT_SEED, SHOWCASE_COMMUNES, build_plan
from chinhquyenso.demo.signed_documents import (
    SIGNED_RESULTS,
    SIGNING_COMMUNE,
    SigningDemo,
    prepare_signing,
    result_pdf,
    seal_receipts,
)
from chinhquyenso.dossiers import postal
from chinhquyenso.dossiers import services as ds
from chinhquyenso.dossiers.models import Dossier, ResultDelivery, Status
from chinhquyenso.dossiers.services import _common, deadlines
from chinhquyenso.procedures.models import Procedure, ProcessStep, StepKind

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MARKER = "demo.dossiers_loaded"
DOSSIERS = 400
HISTORY_DAYS = 120
SUPERUSER = "quantri"

# Planned ends and their weights (national status codes, DOMAIN.md §3.4).
OUTCOMES: dict[int, int] = {
    Status.SUBMITTED: 3,
    Status.RECEIVED: 5,
    Status.REFUSED: 3,
    Status.PROCESSING: 12,
    Status.AWAITING_SUPPLEMENT: 5,
    Status.AWAITING_PAYMENT: 3,
    Status.WITHDRAWN: 3,
    Status.STOPPED: 3,
    Status.RESOLVED: 10,
    Status.RETURNED: 53,
}
IN_PROGRESS = {
    Status.SUBMITTED,
    Status.RECEIVED,
    Status.PROCESSING,
    Status.AWAITING_SUPPLEMENT,
    Status.AWAITING_PAYMENT,
}
COMMUNE_WEIGHTS = {"donduong": 6, "dran": 4}  # the others: 1 each

REFUSAL_REASONS = (
    "Hồ sơ không thuộc thẩm quyền giải quyết của UBND xã.",
    "Người nộp không xuất trình được giấy tờ tùy thân hợp lệ.",
)
SUPPLEMENT_REASONS = (
    ("Bản sao giấy tờ bị mờ, không đọc được", "Bản sao giấy tờ tùy thân (bản rõ)"),
    ("Tờ khai thiếu chữ ký của người yêu cầu", "Tờ khai có đủ chữ ký"),
    ("Thiếu giấy tờ chứng minh nơi cư trú", "Giấy tờ chứng minh nơi cư trú"),
)
STOP_REASONS = ("Người yêu cầu không bổ sung hồ sơ trong thời hạn quy định.",)
WITHDRAW_REASONS = ("Công dân có đơn xin rút hồ sơ để bổ sung thông tin.",)
APOLOGY_REASONS = (
    "Cần xác minh thêm thông tin với cơ quan liên quan.",
    "Công chức thụ lý nghỉ ốm đột xuất, chưa kịp bàn giao.",
    "Hệ thống cơ sở dữ liệu hộ tịch gián đoạn.",
)
COMMENTS = ("Hồ sơ đầy đủ, hợp lệ.", "Đề nghị lãnh đạo xem xét, ký duyệt.", "")


@dataclass
class OneStopReport:
    created: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


class _Clock:
    """The simulated present the dossier services read (see the module docstring)."""

    def __init__(self, start: datetime):
        self.at = start

    def __call__(self) -> datetime:
        return self.at


class _Loader:
    def __init__(self, seed: int, report: OneStopReport):
        self.rng = random.Random(seed)
        self.seed = seed
        self.report = report
        self.superuser = User.objects.get(username=SUPERUSER)
        plan = build_plan(seed)
        keys = [k for k, _, _ in COMMUNES]
        codes = {o.key: o.org_code for o in plan.organisations}
        wanted = keys + [f"{k}.ttpvhcc" for k in keys] + [TRANSFER_DEPARTMENT, FALLBACK_DEPARTMENT]
        wanted += sorted(set(PROVINCE_FIELDS.values()))
        by_code = {
            o.org_code: o
            for o in Organisation.objects.filter(org_code__in=[codes[k] for k in wanted])
        }
        self.orgs = {k: by_code[codes[k]] for k in wanted}
        self.communes = keys
        self.citizens = list(
            User.objects.filter(
                kind=UserKind.CITIZEN,
                username__in=[a.username for a in plan.applicants if a.kind == "citizen"],
            ).order_by("username")
        )
        self.positions = list(
            Position.objects.active()
            .filter(user__is_active=True)
            .select_related("user", "organisation")
            .order_by("organisation__path", "pk")
        )
        self._who: dict[tuple[str, int], User] = {}
        self.signing: SigningDemo | None = None
        self.procedures: dict[str, Procedure] = {}
        self.serial = 0

    # -- people ------------------------------------------------------------------------------
    def who(self, role: str, unit: Organisation) -> User:
        """Someone holding `role` in `unit` or above (the nearest), else the superuser."""
        key = (role, unit.pk)
        if key not in self._who:
            found = [
                p
                for p in self.positions
                if p.role == role and unit.path.startswith(p.organisation.path)
            ]
            found.sort(key=lambda p: -len(p.organisation.path))
            self._who[key] = found[0].user if found else self.superuser
        return self._who[key]

    def step_actor(self, d: Dossier) -> User:
        step = ProcessStep.objects.select_related("unit").get(pk=d.current_step_id)
        if d.current_handler_id is not None:
            return d.current_handler
        return self.who(step.role, step.unit)

    # -- dossiers ----------------------------------------------------------------------------
    def dossiers(self, count: int) -> None:
        now = timezone.now()
        self.real_now = now
        clock = _Clock(now)
        self.clock = clock
        with mock.patch.object(_common, "now", clock):
            for n in range(count):
                self._one(n)
        self.report.created["hồ sơ"] = Dossier.objects.filter(
            receiving_organisation__in=[self.orgs[f"{k}.ttpvhcc"] for k in self.communes]
        ).count()

    def _pick_receipt(self, outcome: int, org: Organisation) -> datetime:
        if outcome in IN_PROGRESS:
            days = self.rng.uniform(0.2, 9)
        else:
            days = self.rng.uniform(6, HISTORY_DAYS)
        day = (self.real_now - timedelta(days=days)).astimezone(TZ)
        minute = self.rng.randrange(7 * 60 + 40, 16 * 60 + 40)
        at = day.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)
        at = calendar_service.next_working_moment(at, organisation=org.pk)
        if at > self.real_now - timedelta(minutes=30):
            at = calendar_service.next_working_moment(at - timedelta(days=7), organisation=org.pk)
        return at

    def _advance(self, d: Dossier, minutes: int) -> bool:
        """Move the clock `minutes` working minutes on; False (clock unchanged) when that
        would pass the real present."""
        target = deadlines.add_working_minutes(
            self.clock.at, max(5, int(minutes)), d.handling_organisation_id
        )
        if target > self.real_now - timedelta(minutes=5):
            return False
        self.clock.at = target
        return True

    def _reload(self, d: Dossier) -> Dossier:
        return Dossier.objects.select_related(
            "current_step", "current_step__unit", "current_handler", "handling_organisation"
        ).get(pk=d.pk)

    def _apology_if_needed(self, d: Dossier, next_at: datetime) -> None:
        if d.due_at is None or next_at <= d.due_at or d.status not in _common.RUNNING:
            return
        # Form 04 a little before the appointment (or now, when that has passed already).
        at = max(self.clock.at, d.due_at - timedelta(hours=2))
        self.clock.at = at
        new_due = deadlines.add_working_minutes(next_at, 2 * 480, d.handling_organisation_id)
        ds.issue_apology(
            actor=self.who(Role.DESK_OFFICER, d.receiving_organisation),
            dossier=d,
            reason=self.rng.choice(APOLOGY_REASONS),
            new_due_at=new_due,
        )
        self.report.created["phiếu xin lỗi"] += 1

    def _move(self, d: Dossier, minutes: int, action) -> Dossier | None:
        """Wait `minutes` working minutes (apologising first if that passes the appointment),
        then run `action(d)`. None when the wait would pass the real present."""
        start = self.clock.at
        if not self._advance(d, minutes):
            return None
        next_at = self.clock.at
        self.clock.at = start
        self._apology_if_needed(self._reload(d), next_at)
        self.clock.at = max(next_at, self.clock.at + timedelta(minutes=1))
        return self._reload(action(self._reload(d)))

    def _applicant(self, citizen: User) -> dict:
        return {
            "kind": "citizen",
            "name": citizen.full_name,
            "id_number": citizen.personal_id,
            "phone": citizen.phone,
            "email": citizen.email or "",
            "address": citizen.address,
        }

    def _documents(self, procedure: Procedure) -> list[dict]:
        return [
            {"index": i, "provided": True}
            for i, doc in enumerate(procedure.current_version.documents or [])
            if doc.get("required", True) and not doc.get("state_holds_data")
        ]

    def _one(self, n: int) -> None:
        rng = self.rng
        outcome = rng.choices(list(OUTCOMES), weights=list(OUTCOMES.values()))[0]
        key = rng.choices(
            self.communes, weights=[COMMUNE_WEIGHTS.get(k, 1) for k in self.communes]
        )[0]
        codes = list(USED)
        code = rng.choices(codes, weights=list(USED.values()))[0]
        if n == 0:
            key, code, outcome = "donduong", BIRTH, Status.RETURNED
        transfer = code == FOREIGN_BIRTH and key in SHOWCASE_COMMUNES
        if code == FOREIGN_BIRTH and not transfer:
            code = BIRTH
        if n % 40 == 1:  # a steady share of liên thông examples
            key, code, transfer = ("donduong", "dran")[n % 80 == 1], FOREIGN_BIRTH, True
        late = rng.random() < 0.12
        supplement = rng.random() < 0.18
        channel = rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
        if outcome == Status.SUBMITTED:
            channel = 2
        delivery = {1: ResultDelivery.DESK, 2: ResultDelivery.ONLINE, 3: ResultDelivery.POST}[
            channel
        ]
        if channel == 1 and rng.random() < 0.2:
            delivery = ResultDelivery.POST
        citizen = rng.choice(self.citizens)
        procedure = self.procedures[code]
        centre = self.orgs[f"{key}.ttpvhcc"]
        desk = self.who(Role.DESK_OFFICER, centre)
        received_at = self._pick_receipt(outcome, centre)
        self.clock.at = received_at
        documents = self._documents(procedure)
        if channel == 2:
            d = ds.submit_online(
                actor=citizen,
                organisation=centre,
                procedure=procedure,
                applicant=None,
                documents=documents,
                result_delivery=delivery,
            )
            if outcome == Status.SUBMITTED or not self._advance(d, rng.randrange(20, 300)):
                self.report.statuses[d.status] += 1
                return
            d = ds.accept_online_submission(actor=desk, dossier=d)
        else:
            d = ds.receive_dossier(
                actor=desk,
                organisation=centre,
                procedure=procedure,
                applicant=self._applicant(citizen),
                documents=documents,
                channel=channel,
                result_delivery=delivery,
                received_at=received_at,
            )
        d = self._drive(d, outcome, late=late, supplement=supplement, transfer=transfer)
        self.report.statuses[d.status] += 1

    def _legal_minutes(self, d: Dossier) -> int:
        if d.clock_started_at is None or d.original_due_at is None:
            return 480
        return max(
            60,
            calendar_service.working_minutes_between(
                d.clock_started_at, d.original_due_at, organisation=d.handling_organisation_id
            ),
        )

    def _drive(self, d: Dossier, outcome: int, *, late: bool, supplement: bool, transfer: bool):
        rng = self.rng
        d = self._reload(d)
        desk = self.who(Role.DESK_OFFICER, d.receiving_organisation)
        if outcome == Status.RECEIVED:
            return d
        if outcome == Status.REFUSED:
            return (
                self._move(
                    d,
                    rng.randrange(10, 60),
                    lambda x: ds.refuse(actor=desk, dossier=x, reason=rng.choice(REFUSAL_REASONS)),
                )
                or d
            )
        legal = self._legal_minutes(d)
        # Desk → the specialist's step.
        nxt = self._move(
            d,
            min(legal * 0.05, 120),
            lambda x: ds.forward(actor=desk, dossier=x, comment=COMMENTS[0]),
        )
        if nxt is None:
            return d
        d = nxt
        if outcome == Status.WITHDRAWN:
            return (
                self._move(
                    d,
                    rng.randrange(60, 600),
                    lambda x: ds.withdraw(actor=desk, dossier=x, reason=WITHDRAW_REASONS[0]),
                )
                or d
            )
        if supplement or outcome == Status.AWAITING_SUPPLEMENT:
            reason, missing = rng.choice(SUPPLEMENT_REASONS)
            nxt = self._move(
                d,
                legal * 0.15,
                lambda x: ds.request_supplement(
                    actor=self.step_actor(x), dossier=x, reason=reason, missing_documents=[missing]
                ),
            )
            if nxt is None:
                return d
            d = nxt
            self.report.created["yêu cầu bổ sung"] += 1
            if outcome == Status.AWAITING_SUPPLEMENT:
                return d
            if outcome == Status.STOPPED:
                return (
                    self._move(
                        d,
                        rng.randrange(960, 4800),
                        lambda x: ds.stop(
                            actor=self.who(Role.LEADER, x.handling_organisation),
                            dossier=x,
                            reason=STOP_REASONS[0],
                        ),
                    )
                    or d
                )
            nxt = self._move(
                d,
                rng.randrange(240, 2400),
                lambda x: ds.receive_supplement(
                    actor=desk, dossier=x, documents=[{"name": missing}]
                ),
            )
            if nxt is None:
                return d
            d = nxt
        if outcome == Status.AWAITING_PAYMENT:
            return (
                self._move(
                    d,
                    legal * 0.1,
                    lambda x: ds.request_payment(
                        actor=self.step_actor(x),
                        dossier=x,
                        reason="Nộp phí, lệ phí theo quy định trước khi trả kết quả.",
                        fees=[{"label": "Lệ phí", "amount_vnd": 50000}],
                    ),
                )
                or d
            )
        if outcome == Status.STOPPED:
            return (
                self._move(
                    d,
                    rng.randrange(60, 600),
                    lambda x: ds.stop(
                        actor=self.who(Role.LEADER, x.handling_organisation),
                        dossier=x,
                        reason=STOP_REASONS[0],
                    ),
                )
                or d
            )
        if transfer:
            d = self._transfer(d, legal, outcome)
            if d.status != Status.PROCESSING or d.current_step.kind == StepKind.TRANSFER:
                return d
        # Through the remaining steps to the return step (status 9).
        share = rng.uniform(0.2, 0.6)
        for _ in range(8):
            if d.status != Status.PROCESSING and d.status != Status.RECEIVED:
                break
            if outcome == Status.PROCESSING and rng.random() < 0.5:
                return d
            step = d.current_step
            actor = self.step_actor(d)
            wait = legal * share / 3
            if late and step.kind == StepKind.HANDLE:
                wait = legal * 1.15  # the appraisal overruns: Form 04 first, counted late
            action = lambda x, a=actor: ds.forward(  # noqa: E731
                actor=a, dossier=x, comment=rng.choice(COMMENTS)
            )
            if self._signs_result(d, step, outcome):
                action = lambda x, a=actor: self._resolve_signed(  # noqa: E731
                    x, a, rng.choice(COMMENTS)
                )
            nxt = self._move(d, wait, action)
            if nxt is None:
                return d
            d = nxt
        if d.status != Status.RESOLVED or outcome in (Status.RESOLVED, Status.PROCESSING):
            return d
        return self._return(d, desk)

    # -- signed results (issue #4) ---------------------------------------------------------
    def _signs_result(self, d: Dossier, step, outcome: int) -> bool:
        """The first `SIGNED_RESULTS` dossiers of the signing commune to be returned have their
        result attached at the approval and signed by the chairman."""
        return (
            self.signing is not None
            and self.signing.signed < SIGNED_RESULTS
            and outcome == Status.RETURNED
            and step.kind == StepKind.APPROVE
            and d.handling_organisation_id == self.orgs[SIGNING_COMMUNE].pk
            and d.parent_id is None
            and self._leads_to_return(d, step)
        )

    @staticmethod
    def _leads_to_return(d: Dossier, step) -> bool:
        from chinhquyenso.dossiers.services import routing

        steps = routing.steps_of(d.process)
        by_order = {s.order: s for s in steps}
        return any(
            by_order.get(o) is not None and by_order[o].kind == StepKind.RETURN
            for o in routing.next_orders(step, len(steps))
        )

    def _resolve_signed(self, d: Dossier, approver: User, comment: str) -> Dossier:
        """The approver sends the result (a PDF printed for the demo) back to the desk, then
        the chairman signs it with his demo key (PKCS#12)."""
        from chinhquyenso.core.services.files import store_file
        from chinhquyenso.signing.keys import Pkcs12Key

        pdf = result_pdf(d)
        stored = store_file(
            actor=approver, uploaded=pdf, purpose="scan", name=f"ket-qua-{d.code}.pdf"
        )
        d = ds.return_to_desk(actor=approver, dossier=d, comment=comment, result_file=stored)
        chairman = self.signing.chairman
        with Pkcs12Key(self.signing.chairman_p12, self.signing.password) as key:
            d = ds.sign_result(actor=chairman, dossier=d, key=key)
        self.signing.signed += 1
        self.signing.dossiers.append(d.pk)
        self.report.created["kết quả ký số"] += 1
        return d

    def _transfer(self, d: Dossier, legal: int, outcome: int) -> Dossier:
        department = self.orgs[TRANSFER_DEPARTMENT]
        actor = self.step_actor(d)
        nxt = self._move(
            d,
            legal * 0.1,
            lambda x: ds.transfer(
                actor=actor,
                dossier=x,
                to_organisation=department,
                comment="Chuyển Sở Tư pháp xác minh (liên thông).",
            ),
        )
        if nxt is None:
            return d
        d = nxt
        self.report.created["hồ sơ liên thông"] += 1
        child = Dossier.objects.filter(parent=d).order_by("-pk").first()
        for _ in range(6):
            child = self._reload(child)
            if child.status not in (Status.RECEIVED, Status.PROCESSING):
                break
            if outcome == Status.PROCESSING and self.rng.random() < 0.4:
                break
            actor = self.step_actor(child)
            if (
                self._move(child, legal * 0.05, lambda x, a=actor: ds.forward(actor=a, dossier=x))
                is None
            ):
                break
        return self._reload(d)

    def _return(self, d: Dossier, desk: User) -> Dossier:
        rng = self.rng
        method = d.result_delivery
        tracking = None
        if method == ResultDelivery.POST:
            self.serial += 1
            tracking = postal.make_tracking_number("EB", 70_000_000 + self.serial)
        name = d.applicant_name
        nxt = self._move(
            d,
            rng.randrange(30, 1440),
            lambda x: ds.return_result(
                actor=desk,
                dossier=x,
                method=method,
                recipient_signature_name=name,
                postal_tracking=tracking,
            ),
        )
        if nxt is None:
            return d
        d = nxt
        if rng.random() < 0.45:
            self._rate(d, desk)
        return d

    def _rate(self, d: Dossier, desk: User) -> None:
        try:
            from chinhquyenso.dossiers.services.rating import rate_dossier
        except ImportError:  # the rating service is not there yet
            return
        level = self.rng.choices([3, 2, 1], weights=[6, 3, 1])[0]
        rate_dossier(
            dossier=d,
            level=level,
            criteria={
                "attitude": level,
                "time": max(1, level - (d.counted_late and 1)),
                "convenience": level,
            },
            actor=desk,
        )
        self.report.created["đánh giá"] += 1


def already_loaded() -> bool:
    return AuditEntry.objects.filter(action=MARKER).exists()


def load(*, seed: int = DEFAULT_SEED, dossiers: int = DOSSIERS, var_dir=None) -> OneStopReport:
    """Create the one-stop demo (after `generator.load`); safe to run again.

    With `var_dir` (where the demo PKI lives, `signing.demo`), the signing commune's forms are
    sealed and a dozen of its returned dossiers carry a result signed by its chairman, and
    their receipts are rendered (sealed) at once."""
    started = time.perf_counter()
    report = OneStopReport()
    signing = None
    if var_dir is not None:
        pki, _code = prepare_signing(var_dir)
        chairman = User.objects.filter(username=f"chutich.{SIGNING_COMMUNE}").first()
        if chairman is not None:
            from chinhquyenso.signing import demo as signing_demo

            signing = SigningDemo(chairman, pki.p12("chutich.donduong"), signing_demo.DEMO_PASSWORD)
    with transaction.atomic():
        loader = _Loader(seed, report)
        loader.signing = signing
        loader.procedures = load_catalogue(loader.orgs, loader.communes, loader.report)
        load_processes(loader.orgs, loader.communes, loader.procedures)
        if already_loaded():
            report.unchanged["hồ sơ"] = Dossier.objects.count()
        else:
            loader.dossiers(dossiers)
            audit.record(
                action=MARKER,
                actor="hệ thống",
                object_type="demo.one_stop",
                data={
                    "seed": seed,
                    "dossiers": DOSSIERS,
                    "statuses": {str(k): v for k, v in report.statuses.items()},
                },
            )
    if signing is not None and signing.dossiers:
        report.created["giấy tiếp nhận ký số"] += seal_receipts(signing.dossiers)
    report.seconds = time.perf_counter() - started
    return report
