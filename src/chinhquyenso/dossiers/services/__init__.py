"""Dossier use-cases: the only code that changes dossiers (STYLE.md habit 2).

Every service is keyword-only, runs in one transaction, locks the dossier (`select_for_update`),
checks permission, checks `expected_revision` (Conflict `dossier_changed`), checks the
transition against the explicit map in `_common.TRANSITIONS` (ValidationFailed
`transition_not_allowed`), bumps the revision and writes a DossierEvent and an audit entry.

Sub-modules: `intake` (receive, online submission, acceptance, refusal), `checks` (applicant,
checklist, files, fees), `codes` (dossier codes), `routing` (claim,
assign, forward, send back, approve, transfer, return to the desk), `clock_stops` (supplement,
payment, apology), `closing` (stop, withdraw, return the result), `results` (sign the
result), `deadlines` (due dates).
"""

from chinhquyenso.dossiers.services._common import ACTIONS, TRANSITIONS
from chinhquyenso.dossiers.services.checks import validate_personal_id, validate_tax_code
from chinhquyenso.dossiers.services.clock_stops import (
    confirm_payment,
    issue_apology,
    receive_supplement,
    request_payment,
    request_supplement,
)
from chinhquyenso.dossiers.services.closing import return_result, stop, withdraw
from chinhquyenso.dossiers.services.intake import (
    AlreadyReceived,
    accept_online_submission,
    receive_dossier,
    refuse,
    submit_online,
)
from chinhquyenso.dossiers.services.rating import rate_dossier as rate_dossier
from chinhquyenso.dossiers.services.results import sign_result
from chinhquyenso.dossiers.services.routing import (
    approve,
    assign,
    claim,
    forward,
    return_to_desk,
    send_back,
    transfer,
)

__all__ = [
    "ACTIONS",
    "AlreadyReceived",
    "TRANSITIONS",
    "accept_online_submission",
    "approve",
    "assign",
    "claim",
    "confirm_payment",
    "forward",
    "issue_apology",
    "receive_dossier",
    "receive_supplement",
    "refuse",
    "request_payment",
    "request_supplement",
    "return_result",
    "return_to_desk",
    "send_back",
    "sign_result",
    "stop",
    "submit_online",
    "transfer",
    "validate_personal_id",
    "validate_tax_code",
    "withdraw",
]
