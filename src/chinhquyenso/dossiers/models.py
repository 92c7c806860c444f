"""Dossiers (hồ sơ), their history, pauses, step runs (Form 05), documents and ratings.

The lifecycle is a fixed state machine whose states are the national status codes 1–10 of the
Cổng Dịch vụ công quốc gia (TrangThaiHoSo), so synchronisation is a mapping (DOMAIN.md §3.4).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.IntegerChoices):
    SUBMITTED = 1, _("Mới đăng ký")  # submitted online, not yet received
    RECEIVED = 2, _("Được tiếp nhận")  # accepted by the one-stop desk
    REFUSED = 3, _("Không được tiếp nhận")  # refused at reception (Form 03)
    PROCESSING = 4, _("Đang xử lý")  # moving through the internal process
    AWAITING_SUPPLEMENT = 5, _("Yêu cầu bổ sung giấy tờ")  # Form 02; the clock stops
    AWAITING_PAYMENT = 6, _("Yêu cầu thực hiện nghĩa vụ tài chính")  # fee/tax to pay
    WITHDRAWN = 7, _("Công dân yêu cầu rút hồ sơ")  # the applicant withdrew
    STOPPED = 8, _("Dừng xử lý")  # processing stopped
    RESOLVED = 9, _("Đã xử lý xong")  # result ready at the desk
    RETURNED = 10, _("Đã trả kết quả")  # result delivered


# Statuses that end processing (the 766 rule: the first of these fixes the end instant).
FINAL_STATUSES = frozenset(
    {Status.REFUSED, Status.WITHDRAWN, Status.STOPPED, Status.RESOLVED, Status.RETURNED}
)


class Channel(models.IntegerChoices):
    """KenhThucHien on the national portal."""

    DIRECT = 1, _("Trực tiếp")
    ONLINE = 2, _("Trực tuyến")
    POSTAL = 3, _("Qua bưu chính công ích")


class ApplicantKind(models.IntegerChoices):
    """LoaiDoiTuong on the national portal."""

    CITIZEN = 1, _("Công dân")
    BUSINESS = 2, _("Tổ chức, doanh nghiệp")


class Timeliness(models.TextChoices):
    EARLY = "early", _("Trước hạn")
    ON_TIME = "on_time", _("Đúng hạn")
    LATE = "late", _("Trễ hạn")


class ResultDelivery(models.TextChoices):
    DESK = "desk", _("Nhận tại Bộ phận Một cửa")
    POST = "post", _("Qua bưu chính công ích")
    ONLINE = "online", _("Nhận trực tuyến")


class Dossier(models.Model):
    code = models.CharField(_("mã hồ sơ"), max_length=40, unique=True)
    procedure = models.ForeignKey(
        "procedures.Procedure", on_delete=models.PROTECT, related_name="+"
    )
    procedure_version = models.ForeignKey(
        "procedures.ProcedureVersion", on_delete=models.PROTECT, related_name="+"
    )
    process = models.ForeignKey(
        "procedures.Process", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    receiving_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    # The organisation whose process is running now (changes on inter-agency transfer).
    handling_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    status = models.PositiveSmallIntegerField(
        _("trạng thái"), choices=Status.choices, db_index=True
    )
    channel = models.PositiveSmallIntegerField(_("kênh"), choices=Channel.choices)
    applicant = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applicant_kind = models.PositiveSmallIntegerField(choices=ApplicantKind.choices)
    applicant_name = models.CharField(_("người nộp"), max_length=200)
    applicant_id_number = models.CharField(_("số định danh / mã số thuế"), max_length=14)
    applicant_phone = models.CharField(_("điện thoại"), max_length=20, blank=True)
    applicant_email = models.EmailField(_("thư điện tử"), blank=True)
    applicant_address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    submitted_at = models.DateTimeField(_("ngày nộp"))
    received_at = models.DateTimeField(_("ngày tiếp nhận"), null=True, blank=True)
    # Processing starts here (the next working day when received after the cut-off).
    clock_started_at = models.DateTimeField(null=True, blank=True)
    # The appointment shown to the applicant: moved later by clock stops and by an apology.
    due_at = models.DateTimeField(_("ngày hẹn trả"), null=True, blank=True, db_index=True)
    # The legal due date: set at receipt, moved later only by clock stops (supplement, payment),
    # never by an apology. On-time accounting (`timeliness.py`) compares against this one.
    original_due_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("ngày kết thúc xử lý"), null=True, blank=True)
    returned_at = models.DateTimeField(_("ngày trả kết quả"), null=True, blank=True)
    current_step = models.ForeignKey(
        "procedures.ProcessStep", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current_handler = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current_unit = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step_due_at = models.DateTimeField(null=True, blank=True)
    supplement_count = models.PositiveSmallIntegerField(default=0)
    apology_count = models.PositiveSmallIntegerField(default=0)
    # Set while the clock is stopped (awaiting supplement or payment): when it stopped.
    clock_paused_at = models.DateTimeField(null=True, blank=True)
    # Working minutes of the clock stops that have ended (subtracted from the time used).
    paused_minutes = models.PositiveIntegerField(default=0)
    # Sticky: set once the dossier has been seen past its legal due date (or asked for a second
    # supplement). Nothing clears it, so no later action can make a late dossier on time.
    counted_late = models.BooleanField(_("đã trễ hạn"), default=False)
    timeliness = models.CharField(
        _("tiến độ"), max_length=8, choices=Timeliness.choices, blank=True
    )
    fees = models.JSONField(_("phí, lệ phí"), default=list, blank=True)
    fees_paid = models.BooleanField(default=False)
    result_delivery = models.CharField(
        max_length=8, choices=ResultDelivery.choices, default=ResultDelivery.DESK
    )
    result_file = models.ForeignKey(
        "core.StoredFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    postal_tracking = models.CharField(max_length=40, blank=True)
    # How the result was actually handed over, and who signed for it.
    returned_via = models.CharField(
        _("hình thức trả kết quả"), max_length=8, choices=ResultDelivery.choices, blank=True
    )
    returned_to_name = models.CharField(_("người nhận kết quả"), max_length=200, blank=True)
    received_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Incremented by every service that changes the dossier: concurrent edits are detected.
    revision = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
    # The intake form's (or the API client's Idempotency-Key) one-time key: the same intake
    # sent twice (a double click, a retried request) receives one dossier, not two.
    intake_key = models.CharField(max_length=64, null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("hồ sơ")
        verbose_name_plural = _("hồ sơ")
        constraints = [
            models.UniqueConstraint(
                fields=["receiving_organisation", "intake_key"],
                condition=models.Q(intake_key__isnull=False),
                name="dossier_intake_key_uniq",
            )
        ]
        indexes = [
            models.Index(fields=["receiving_organisation", "received_at"]),
            models.Index(fields=["handling_organisation", "status"]),
            models.Index(fields=["current_handler", "status"]),
            models.Index(fields=["current_unit", "status"]),
            models.Index(fields=["applicant_id_number"]),
            models.Index(fields=["status", "original_due_at"]),
            models.Index(fields=["receiving_organisation", "status"]),
            models.Index(fields=["received_at"], name="dossier_received_at_idx"),
            models.Index(fields=["finished_at"], name="dossier_finished_at_idx"),
            # The few parents waiting for a running inter-agency part (queues, issue #3).
            models.Index(
                fields=["parent"],
                condition=models.Q(
                    parent__isnull=False,
                    status__in=[
                        Status.SUBMITTED,
                        Status.RECEIVED,
                        Status.PROCESSING,
                        Status.AWAITING_SUPPLEMENT,
                        Status.AWAITING_PAYMENT,
                    ],
                ),
                name="dossier_open_child_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def owning_organisation(self):
        return self.handling_organisation


class DossierCounter(models.Model):
    """Last sequence number issued per receiving organisation and day (TT 01/2018 Art. 19)."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "day"], name="dossiercounter_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} {self.day} {self.last}"


class DossierEvent(models.Model):
    """Append-only history: every status change and hand-over (from, to, actor, reason, time)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=40)
    from_status = models.PositiveSmallIntegerField(null=True, blank=True)
    to_status = models.PositiveSmallIntegerField(null=True, blank=True)
    from_step = models.ForeignKey(
        "procedures.ProcessStep", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_step = models.ForeignKey(
        "procedures.ProcessStep", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dossier_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.action}"


class StepRun(models.Model):
    """One pass of a dossier through one step: Form 05 (process control sheet) rows."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="step_runs")
    step = models.ForeignKey("procedures.ProcessStep", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    handler = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handed_over_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    timeliness = models.CharField(max_length=8, choices=Timeliness.choices, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["dossier_id", "started_at", "id"]
        indexes = [
            # "Handed on by me" (the waiting_others queue) read from the index alone.
            models.Index(
                fields=["handler", "dossier"],
                condition=models.Q(finished_at__isnull=False),
                name="steprun_handed_on_idx",
            ),
            # The handlers of given dossiers (supervision by official) from the index alone.
            models.Index(fields=["dossier", "handler"], name="steprun_dossier_handler_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} step {self.step_id}"


class PauseKind(models.TextChoices):
    SUPPLEMENT = "supplement", _("Chờ bổ sung hồ sơ")
    PAYMENT = "payment", _("Chờ thực hiện nghĩa vụ tài chính")
    STOPPED = "stopped", _("Tạm dừng")


class Pause(models.Model):
    """A segment during which the clock does not run (supplement time is subtracted: 766 rule)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="pauses")
    kind = models.CharField(max_length=12, choices=PauseKind.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField()
    requested_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Form 02: the documents the applicant is asked to supplement (names).
    missing_documents = models.JSONField(default=list, blank=True)
    ended_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Working minutes the clock stood still, fixed when the pause ends (moves the due dates).
    paused_minutes = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["dossier_id", "started_at"]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.kind}"


class DossierDocument(models.Model):
    """One required document (thành phần hồ sơ) as provided, scanned or reused."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="documents")
    name = models.CharField(max_length=1000)
    copy_type = models.CharField(max_length=60, blank=True)
    quantity = models.PositiveSmallIntegerField(default=1)
    provided = models.BooleanField(default=False)
    file = models.ForeignKey(
        "core.StoredFile", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Taken from the applicant's earlier dossier or a state database instead of asked again.
    reused_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    from_state_data = models.BooleanField(default=False)
    supplement_round = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dossier_id", "id"]

    def __str__(self) -> str:
        return self.name[:60]


class SatisfactionLevel(models.IntegerChoices):
    VERY_SATISFIED = 3, _("Rất hài lòng")
    SATISFIED = 2, _("Hài lòng")
    DISSATISFIED = 1, _("Không hài lòng")


class Rating(models.Model):
    dossier = models.OneToOneField(Dossier, on_delete=models.PROTECT, related_name="rating")
    level = models.PositiveSmallIntegerField(choices=SatisfactionLevel.choices)
    # {"attitude": 3, "time": 2, "convenience": 3, ...}
    criteria = models.JSONField(default=dict, blank=True)
    comment = models.TextField(blank=True)
    official = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("đánh giá mức độ hài lòng")

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.level}"


class FormPurpose(models.TextChoices):
    RECEIPT = "receipt", _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả")
    SUPPLEMENT = "supplement", _("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ")
    REFUSAL = "refusal", _("Phiếu từ chối tiếp nhận giải quyết hồ sơ")
    APOLOGY = "apology", _("Phiếu xin lỗi và hẹn lại ngày trả kết quả")
    STOP = "stop", _("Thông báo dừng giải quyết hồ sơ")
    CONTROL_SHEET = "control_sheet", _("Phiếu kiểm soát quá trình giải quyết hồ sơ")
    REGISTER = "register", _("Sổ theo dõi hồ sơ")


class FormSet(models.Model):
    """A set of official forms (TT 01/2018/TT-VPCP: 6 forms; the 2025 set: 7). One is active."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_formset"
            )
        ]

    def __str__(self) -> str:
        return self.name


class FormTemplate(models.Model):
    form_set = models.ForeignKey(FormSet, on_delete=models.CASCADE, related_name="forms")
    number = models.CharField(_("mẫu số"), max_length=10)
    purpose = models.CharField(max_length=16, choices=FormPurpose.choices)
    title = models.CharField(max_length=255)
    # Django template source rendered to HTML, then to PDF by WeasyPrint (or Excel for registers).
    body = models.TextField()
    page_size = models.CharField(max_length=4, default="A5")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["form_set", "purpose"], name="formtemplate_uniq")
        ]

    def __str__(self) -> str:
        return f"Mẫu {self.number}: {self.title}"


class FinishedHandler(models.Model):
    """Write-side summary for supervision by official (issue #3): one row per official who
    handled a step of a finished dossier, with the dossier's end instant, on-time result and
    the three organisation columns of the subtree filter (`queries.organisation_q`) copied, so
    "finished in the period, by official" is a grouped scan of this table, without a join and
    without DISTINCT. Kept in step by `services._common.save` whenever a finished dossier is
    written (a final status never goes back to a running one)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="+", db_index=False)
    handler = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    handling_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    receiving_organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    current_unit = models.ForeignKey(
        "core.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    finished_at = models.DateTimeField()
    timeliness = models.CharField(max_length=8, choices=Timeliness.choices, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "handler"], name="finishedhandler_dossier_handler_uniq"
            )
        ]
        indexes = [
            # The whole tree (a province): the period's rows grouped by official, index only.
            models.Index(
                fields=["finished_at", "handler", "timeliness"], name="finishedhandler_period_idx"
            ),
            # A subtree: the OR of the three organisation columns, each with the period.
            models.Index(
                fields=["handling_organisation", "finished_at"], name="finishedhandler_handling_idx"
            ),
            models.Index(
                fields=["receiving_organisation", "finished_at"],
                name="finishedhandler_receiving_idx",
            ),
            models.Index(fields=["current_unit", "finished_at"], name="finishedhandler_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.handler_id}"
