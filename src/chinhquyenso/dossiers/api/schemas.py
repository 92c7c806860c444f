"""Request and response schemas of the dossier API."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Schema

from chinhquyenso.dossiers.models import (
    Channel,
    ResultDelivery,
)

READ_SCOPE = "dossiers:read"
WRITE_SCOPE = "dossiers:write"
MAX_LIMIT = 100

# --- Schemas ----------------------------------------------------------------------------------


class ApplicantIn(Schema):
    kind: str = "citizen"
    name: str
    id_number: str
    phone: str = ""
    email: str = ""
    address: str = ""


class DocumentIn(Schema):
    index: int | None = None
    name: str = ""
    provided: bool = True
    file_id: int | None = None
    reused_from: int | None = None
    copy_type: str = ""
    quantity: int | None = None


class FeeIn(Schema):
    label: str
    amount_vnd: int


class IntakeIn(Schema):
    organisation_id: int
    procedure: str  # national code, e.g. "1.001193"
    applicant: ApplicantIn
    documents: list[DocumentIn] = []
    channel: int = Channel.DIRECT
    result_delivery: str = ResultDelivery.DESK
    fees: list[FeeIn] | None = None
    received_at: datetime | None = None
    handling_organisation_id: int | None = None


class Ref(Schema):
    id: int
    name: str


class StatusOut(Schema):
    code: int
    name: str


class StepOut(Schema):
    order: int
    name: str
    kind: str
    role: str


class TimelinessOut(Schema):
    state: str
    label: str
    working_minutes_used: int
    working_minutes_allowed: int | None
    recorded: str


class PartOut(Schema):
    code: str
    status: StatusOut
    organisation: Ref
    current_step: StepOut | None


class DossierOut(Schema):
    code: str
    revision: int
    status: StatusOut
    procedure_code: str
    procedure_name: str
    procedure_version: int
    receiving_organisation: Ref
    handling_organisation: Ref
    channel: int
    applicant_kind: int
    # False: the caller may see the dossier but not the applicant's personal data
    # (dossiers/privacy.py): the name is masked, the number, phone, e-mail and address null.
    personal_data: bool
    applicant_name: str
    applicant_id_number: str | None
    submitted_at: datetime
    received_at: datetime | None
    clock_started_at: datetime | None
    due_at: datetime | None
    original_due_at: datetime | None
    finished_at: datetime | None
    returned_at: datetime | None
    current_step: StepOut | None
    current_unit: Ref | None
    current_handler: Ref | None
    step_due_at: datetime | None
    supplement_count: int
    apology_count: int
    timeliness: TimelinessOut
    parent: str | None
    result_delivery: str
    actions: list[str]


class EventOut(Schema):
    at: datetime
    action: str
    label: str
    actor: str
    from_status: int | None
    to_status: int | None
    comment: str


class StepRunOut(Schema):
    step: StepOut
    unit: Ref
    handler: str
    handed_over_by: str
    started_at: datetime
    due_at: datetime
    finished_at: datetime | None
    timeliness: str


class PauseOut(Schema):
    kind: str
    started_at: datetime
    ended_at: datetime | None
    reason: str
    missing_documents: list[str]
    paused_minutes: int | None


class DocumentOut(Schema):
    id: int
    name: str
    copy_type: str
    quantity: int
    provided: bool
    file_id: int | None
    from_state_data: bool
    reused: bool
    supplement_round: int


class DossierDetailOut(DossierOut):
    applicant_phone: str | None
    applicant_email: str | None
    applicant_address: str | None
    fees: list[dict]
    fees_paid: bool
    returned_via: str
    returned_to_name: str
    postal_tracking: str
    result_file_id: int | None
    children: list[PartOut]
    documents: list[DocumentOut]
    events: list[EventOut]
    step_runs: list[StepRunOut]
    pauses: list[PauseOut]


class DossierListOut(Schema):
    count: int
    items: list[DossierOut]


class FilterQuery(Schema):
    queue: str | None = None
    organisation: int | None = None
    status: int | None = None
    channel: int | None = None
    procedure: int | None = None
    handler: int | None = None
    handled_by: int | None = None
    progress: str | None = None
    timeliness: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    finished_from: date | None = None
    finished_to: date | None = None
    limit: int = 50
    offset: int = 0


class FigureOut(Schema):
    value: int
    filters: dict


class SupervisionOut(Schema):
    organisation: Ref
    period_from: date
    period_to: date
    received_today: dict[str, FigureOut]
    received_period: dict[str, FigureOut]
    in_progress: dict[str, FigureOut]
    awaiting_supplement: FigureOut
    finished: dict[str, FigureOut]
    by_procedure: list[dict]
    by_official: list[dict]


# --- Transitions: one endpoint each ---------------------------------------------------------


class RevisionIn(Schema):
    expected_revision: int


class ReasonIn(RevisionIn):
    reason: str


class CommentIn(RevisionIn):
    comment: str = ""


class AssignIn(CommentIn):
    handler_id: int


class ForwardIn(CommentIn):
    to_step: int | None = None
    attachments: list[int] = []
    handler_id: int | None = None


class SendBackIn(RevisionIn):
    to_step: int | None = None
    comment: str


class TransferIn(CommentIn):
    to_organisation_id: int


class ReturnToDeskIn(CommentIn):
    result_file_id: int | None = None


class ReturnResultIn(RevisionIn):
    method: str
    recipient_signature_name: str = ""
    postal_tracking: str | None = None


class SupplementRequestIn(ReasonIn):
    missing_documents: list[str]


class SupplementIn(CommentIn):
    documents: list[DocumentIn] = []


class PaymentRequestIn(ReasonIn):
    fees: list[FeeIn] | None = None


class PaymentIn(RevisionIn):
    reference: str = ""


class ApologyIn(ReasonIn):
    new_due_at: datetime
