"""Use-cases of the procedures module: the only code that changes procedures and processes.

Catalogue (`catalogue`, `excel`): import_catalogue, export_catalogue, import_workbook,
export_workbook, update_procedure, assign_organisations.
Internal processes (`processes`): save_process, default_process, ensure_process, plus the
pure helpers default_steps, validate_steps, legal_time, standard_day_minutes.
"""

from chinhquyenso.procedures.services.catalogue import (
    ImportReport,
    RecordError,
    assign_organisations,
    can_manage_catalogue,
    export_catalogue,
    export_record,
    import_catalogue,
    update_procedure,
)
from chinhquyenso.procedures.services.excel import (
    export_workbook,
    import_workbook,
    records_from_workbook,
    workbook_bytes,
)
from chinhquyenso.procedures.services.processes import (
    LegalTime,
    Problem,
    StepSpec,
    calendar_days_as_working_days,
    default_process,
    default_steps,
    ensure_process,
    format_minutes,
    legal_time,
    save_process,
    standard_day_minutes,
    validate_steps,
)

__all__ = [
    "ImportReport",
    "LegalTime",
    "Problem",
    "RecordError",
    "StepSpec",
    "assign_organisations",
    "calendar_days_as_working_days",
    "can_manage_catalogue",
    "default_process",
    "default_steps",
    "ensure_process",
    "export_catalogue",
    "export_record",
    "export_workbook",
    "format_minutes",
    "import_catalogue",
    "import_workbook",
    "legal_time",
    "records_from_workbook",
    "save_process",
    "standard_day_minutes",
    "update_procedure",
    "validate_steps",
    "workbook_bytes",
]
