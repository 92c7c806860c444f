"""The one-stop demo's catalogue: the 62 procedures of the national portal sample imported with
the administrators' import, assigned to the demo communes and Sở, and their internal processes
(a liên thông one for Đăng ký khai sinh có yếu tố nước ngoài at the showcase communes). Used by
`demo.one_stop.load`, through the procedures services."""

from __future__ import annotations

import json
from pathlib import Path

from chinhquyenso.core.models import Organisation, Role
from chinhquyenso.demo.plan import SHOWCASE_COMMUNES
from chinhquyenso.procedures.models import Procedure, Process, StepKind
from chinhquyenso.procedures.services import (
    StepSpec,
    assign_organisations,
    default_steps,
    ensure_process,
    import_catalogue,
    save_process,
)

DATA = Path(__file__).parent / "data" / "procedures-national-portal-sample.json"
SOURCE = "Dữ liệu mẫu: 62 thủ tục từ Cổng Dịch vụ công quốc gia"
BIRTH = "1.001193"
FOREIGN_BIRTH = "2.000528"  # the liên thông example (to the Sở Tư pháp)
# The procedures dossiers are made of, with their weight (how common they are).
USED: dict[str, int] = {
    BIRTH: 12,
    "1.000656": 4,  # khai tử
    "1.000894": 5,  # kết hôn
    "1.004873": 6,  # xác nhận tình trạng hôn nhân
    "1.004884": 1,  # đăng ký lại khai sinh
    "2.000942": 4,  # bản sao có chứng thực
    "2.001035": 2,  # chứng thực giao dịch động sản
    "1.004222": 3,  # đăng ký thường trú
    "1.004194": 3,  # đăng ký tạm trú
    "1.011607": 1,  # hộ nghèo, cận nghèo
    "1.013225": 1,  # giấy phép xây dựng
    "1.012753": 2,  # đăng ký đất đai
    FOREIGN_BIRTH: 1,
}
# Province-level fields and the Sở (plan key) competent for them; the rest go to Sở Nội vụ.
PROVINCE_FIELDS = {
    "Lý lịch tư pháp": "sotuphap",
    "Quốc tịch": "sotuphap",
    "Nuôi con nuôi": "sotuphap",
    "Công chứng": "sotuphap",
    "Hộ tịch": "sotuphap",
    "Chứng thực": "sotuphap",
    "Đất đai": "sonnmt",
    "Hoạt động xây dựng": "soxaydung",
}
FALLBACK_DEPARTMENT = "sonoivu"
TRANSFER_DEPARTMENT = "sotuphap"


def catalogue_records() -> list[dict]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def is_commune_level(record: dict) -> bool:
    return "xã" in (record.get("level") or "").lower()


def load_catalogue(orgs: dict[str, Organisation], communes: list[str], report) -> dict:
    """Import the sample catalogue (once), assign every procedure to the communes or the
    competent Sở; the procedures the dossiers use, by code."""
    records = catalogue_records()
    codes = [r["code"] for r in records]
    if Procedure.objects.filter(national_code__in=codes).count() == len(codes):
        # Already imported: importing again would change nothing but would still write an
        # import audit entry (and could undo an administrator's later edits).
        report.unchanged["thủ tục"] += len(codes)
    else:
        result = import_catalogue(actor=None, system=True, records=records, source=SOURCE)
        report.created["thủ tục"] += len(result.created)
        report.unchanged["thủ tục"] += len(result.unchanged) + len(result.updated)
        if result.errors:
            raise RuntimeError(f"Danh mục mẫu không nhập được: {result.errors[:3]}")
    procedures = {
        p.national_code: p
        for p in Procedure.objects.select_related("field", "current_version").filter(
            national_code__in=[r["code"] for r in records]
        )
    }
    commune_orgs = [orgs[k] for k in communes]
    for record in records:
        procedure = procedures[record["code"]]
        if is_commune_level(record):
            targets = list(commune_orgs)
            if record["code"] == FOREIGN_BIRTH:
                targets.append(orgs[TRANSFER_DEPARTMENT])
        else:
            key = PROVINCE_FIELDS.get(record.get("field") or "", FALLBACK_DEPARTMENT)
            targets = [orgs[key]]
        current = set(procedure.organisations.values_list("pk", flat=True))
        if not {t.pk for t in targets} <= current:
            assign_organisations(
                actor=None,
                procedure=procedure,
                organisations=targets + list(procedure.organisations.all()),
                system=True,
            )
    return {code: procedures[code] for code in USED}


def load_processes(orgs: dict[str, Organisation], communes: list[str], procedures: dict) -> None:
    """A default internal process per commune and procedure; the liên thông one at the showcase
    communes; the Sở Tư pháp's own."""
    for key in communes:
        commune = orgs[key]
        for code, procedure in procedures.items():
            if code == FOREIGN_BIRTH and key in SHOWCASE_COMMUNES:
                _transfer_process(procedure, commune, orgs[TRANSFER_DEPARTMENT])
            else:
                ensure_process(actor=None, procedure=procedure, organisation=commune, system=True)
    ensure_process(
        actor=None,
        procedure=procedures[FOREIGN_BIRTH],
        organisation=orgs[TRANSFER_DEPARTMENT],
        system=True,
    )


def _transfer_process(
    procedure: Procedure, commune: Organisation, department: Organisation
) -> None:
    """Desk → appraisal → liên thông to the Sở Tư pháp → approval → return."""
    if Process.objects.filter(procedure=procedure, organisation=commune, is_current=True).exists():
        return
    base = default_steps(procedure=procedure, organisation=commune)
    receive, handle = base[0], base[1]
    approve = next(s for s in base if s.kind == StepKind.APPROVE and s.role == Role.LEADER)
    give_back = base[-1]
    total = sum(s.allotment_minutes for s in base)
    transfer = max(1, total // 3)
    handle_minutes = max(1, handle.allotment_minutes - transfer)
    steps = [
        StepSpec(
            receive.name,
            StepKind.RECEIVE,
            receive.unit,
            receive.role,
            receive.allotment_minutes,
        ),
        StepSpec(handle.name, StepKind.HANDLE, handle.unit, handle.role, handle_minutes),
        StepSpec(
            "Chuyển Sở Tư pháp (liên thông)",
            StepKind.TRANSFER,
            handle.unit,
            handle.role,
            transfer,
            department,
        ),
        StepSpec(
            approve.name,
            StepKind.APPROVE,
            approve.unit,
            approve.role,
            approve.allotment_minutes,
            allowed_next=(2,),
        ),
        StepSpec(
            give_back.name,
            StepKind.RETURN,
            give_back.unit,
            give_back.role,
            give_back.allotment_minutes,
        ),
    ]
    save_process(actor=None, procedure=procedure, organisation=commune, steps=steps, system=True)
