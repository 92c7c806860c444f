"""The official form sets of the one-stop mechanism, as versioned data (DOMAIN.md §3.3).

A `FormSet` is one legal generation of the forms; its `FormTemplate` rows hold the Django
template source (`body`) that `forms_pdf.render_form` turns into a PDF. Exactly one set is
active (a database constraint), and every form is printed from the active set, so a new
generation of forms replaces the old one by data (`activate_form_set`), with no code change.

Shipped sets (the sources live under `templates/dossiers/forms/<set dir>/` and are copied into
the database by `ensure_form_sets`; after that the database row is what is printed):

* `tt01-2018` — Thông tư 01/2018/TT-VPCP (23/11/2018, effective 06/01/2019), guidance of
  NĐ 61/2018/NĐ-CP: Mẫu 01–05 (A5, print-ready) and Mẫu 06 Sổ theo dõi hồ sơ (A4, Excel).
  Active by default. [H]
* `tt03-2025` — the set reported for NĐ 118/2025/NĐ-CP (TT 03/2025/TT-VPCP, Phụ lục I): 7 forms,
  with the apology renamed "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết" and a new
  "Thông báo dừng giải quyết hồ sơ". Installed inactive: the text of TT 03/2025 was not
  retrieved ([L] in DOMAIN.md), so an administrator switches to it once it is confirmed.

A shipped body is never overwritten by `ensure_form_sets()` (an administrator may have
corrected it in the database); `ensure_form_sets(update=True)` re-copies the shipped sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.template import TemplateSyntaxError, engines

from chinhquyenso.core import permissions
from chinhquyenso.core.errors import NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.models import Organisation, Role
from chinhquyenso.core.services import audit
from chinhquyenso.dossiers.models import FormPurpose, FormSet, FormTemplate

permissions.register_action("formset.manage", {Role.ADMIN})

FORMS_DIR = Path(__file__).resolve().parent / "templates" / "dossiers" / "forms"

TT01_2018 = "tt01-2018"
TT03_2025 = "tt03-2025"

# Every set must be able to print these; a set without one of them cannot be activated.
REQUIRED_PURPOSES = frozenset(
    {
        FormPurpose.RECEIPT,
        FormPurpose.SUPPLEMENT,
        FormPurpose.REFUSAL,
        FormPurpose.APOLOGY,
        FormPurpose.CONTROL_SHEET,
        FormPurpose.REGISTER,
    }
)


@dataclass(frozen=True)
class ShippedForm:
    number: str
    purpose: str
    title: str
    source: str  # file under FORMS_DIR
    page_size: str = "A5"


@dataclass(frozen=True)
class ShippedSet:
    code: str
    name: str
    active_by_default: bool
    forms: tuple[ShippedForm, ...]


SHIPPED_SETS: tuple[ShippedSet, ...] = (
    ShippedSet(
        code=TT01_2018,
        name="Bộ biểu mẫu theo Thông tư 01/2018/TT-VPCP (6 mẫu)",
        active_by_default=True,
        forms=(
            ShippedForm(
                "01",
                FormPurpose.RECEIPT,
                "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                "tt01_2018/01_receipt.html",
            ),
            ShippedForm(
                "02",
                FormPurpose.SUPPLEMENT,
                "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                "tt01_2018/02_supplement.html",
            ),
            ShippedForm(
                "03",
                FormPurpose.REFUSAL,
                "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
                "tt01_2018/03_refusal.html",
            ),
            ShippedForm(
                "04",
                FormPurpose.APOLOGY,
                "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
                "tt01_2018/04_apology.html",
            ),
            ShippedForm(
                "05",
                FormPurpose.CONTROL_SHEET,
                "Phiếu kiểm soát quá trình giải quyết hồ sơ",
                "tt01_2018/05_control_sheet.html",
            ),
            ShippedForm(
                "06",
                FormPurpose.REGISTER,
                "Sổ theo dõi hồ sơ",
                "tt01_2018/06_register.txt",
                page_size="A4",
            ),
        ),
    ),
    ShippedSet(
        code=TT03_2025,
        name="Bộ biểu mẫu theo Nghị định 118/2025/NĐ-CP (7 mẫu, Thông tư 03/2025/TT-VPCP)",
        active_by_default=False,
        forms=(
            ShippedForm(
                "01",
                FormPurpose.RECEIPT,
                "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                "tt03_2025/01_receipt.html",
            ),
            ShippedForm(
                "02",
                FormPurpose.SUPPLEMENT,
                "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                "tt03_2025/02_supplement.html",
            ),
            ShippedForm(
                "03",
                FormPurpose.REFUSAL,
                "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
                "tt03_2025/03_refusal.html",
            ),
            ShippedForm(
                "04",
                FormPurpose.APOLOGY,
                "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
                "tt03_2025/04_apology.html",
            ),
            ShippedForm(
                "05",
                FormPurpose.STOP,
                "Thông báo dừng giải quyết hồ sơ",
                "tt03_2025/05_stop.html",
            ),
            ShippedForm(
                "06",
                FormPurpose.CONTROL_SHEET,
                "Phiếu kiểm soát quá trình giải quyết hồ sơ",
                "tt03_2025/06_control_sheet.html",
            ),
            ShippedForm(
                "07",
                FormPurpose.REGISTER,
                "Sổ theo dõi hồ sơ",
                "tt03_2025/07_register.txt",
                page_size="A4",
            ),
        ),
    ),
)


def _shipped_body(form: ShippedForm) -> str:
    return (FORMS_DIR / form.source).read_text(encoding="utf-8")


@transaction.atomic
def ensure_form_sets(*, update: bool = False) -> list[FormSet]:
    """Install the shipped form sets; safe to call any number of times.

    Missing sets and forms are created. The TT 01/2018 set is activated only when no set is
    active, so a deliberate switch to another set survives. Existing bodies are left as they
    are unless `update` is true (re-copy the shipped sources, e.g. after a wording fix).
    """
    any_active = FormSet.objects.filter(is_active=True).exists()
    installed = []
    for shipped in SHIPPED_SETS:
        form_set, _created = FormSet.objects.get_or_create(
            code=shipped.code, defaults={"name": shipped.name, "is_active": False}
        )
        for form in shipped.forms:
            template, created = FormTemplate.objects.get_or_create(
                form_set=form_set,
                purpose=form.purpose,
                defaults={
                    "number": form.number,
                    "title": form.title,
                    "body": _shipped_body(form),
                    "page_size": form.page_size,
                },
            )
            if update and not created:
                shipped = (form.number, form.title, _shipped_body(form), form.page_size)
                now = (template.number, template.title, template.body, template.page_size)
                if shipped != now:
                    template.number, template.title, template.body, template.page_size = shipped
                    template.save(update_fields=["number", "title", "body", "page_size"])
                    # Audited: what is printed on every citizen's paper changed.
                    audit.record(
                        action="formset.updated",
                        obj=form_set,
                        data={"purpose": form.purpose, "number": form.number},
                    )
        installed.append(form_set)
    if not any_active:
        default = next(s for s in SHIPPED_SETS if s.active_by_default)
        FormSet.objects.filter(code=default.code).update(is_active=True)
        for form_set in installed:
            form_set.is_active = form_set.code == default.code
    return installed


def active_form_set() -> FormSet:
    """The set every form is printed from. Installs the shipped sets on first use."""
    form_set = FormSet.objects.filter(is_active=True).first()
    if form_set is None:
        ensure_form_sets()
        form_set = FormSet.objects.get(is_active=True)
    return form_set


def form_template(purpose: str, *, form_set: FormSet | None = None) -> FormTemplate:
    """The template for `purpose` in `form_set` (default: the active set)."""
    form_set = form_set or active_form_set()
    template = (
        FormTemplate.objects.select_related("form_set")
        .filter(form_set=form_set, purpose=purpose)
        .first()
    )
    if template is None:
        label = FormPurpose(purpose).label if purpose in FormPurpose.values else purpose
        raise ValidationFailed(
            f"Bộ biểu mẫu đang áp dụng ({form_set.name}) không có mẫu “{label}”.",
            code="form_not_in_set",
            details={"form_set": form_set.code, "purpose": purpose},
        )
    return template


def _check_complete(form_set: FormSet) -> None:
    templates = list(form_set.forms.all())
    missing = REQUIRED_PURPOSES - {t.purpose for t in templates}
    if missing:
        labels = ", ".join(sorted(str(FormPurpose(p).label) for p in missing))
        raise ValidationFailed(
            f"Bộ biểu mẫu thiếu mẫu: {labels}.",
            code="formset_incomplete",
            details={"missing": sorted(missing)},
        )
    engine = engines["django"]
    for template in templates:
        try:
            engine.from_string(template.body)
        except TemplateSyntaxError as exc:
            raise ValidationFailed(
                f"Mẫu số {template.number} ({template.title}) có lỗi cú pháp: {exc}",
                code="formset_template_invalid",
                details={"number": template.number, "purpose": template.purpose},
            ) from exc


def _may_manage(actor) -> bool:
    """Form sets are nation-wide: only a superuser or an administrator of a top-level
    organisation (one with no parent, e.g. the provincial People's Committee) may switch them."""
    if getattr(actor, "is_superuser", False) and actor.is_active:
        return True
    roots = Organisation.objects.filter(parent__isnull=True, is_active=True)
    return any(permissions.can(actor, "formset.manage", root) for root in roots)


def activate_form_set(*, actor, code: str) -> FormSet:
    """Make the set `code` the one every form is printed from (audited: `formset.activated`).

    Only an administrator of a top-level organisation may do it. The set must contain every
    required form and each body must be a valid template; otherwise nothing changes.
    """
    if not _may_manage(actor):
        raise PermissionDenied("Chỉ quản trị hệ thống cấp tỉnh được thay đổi bộ biểu mẫu.")
    with transaction.atomic():
        # Lock every set: two administrators switching at once are serialised, and the
        # one-active constraint is never violated half-way.
        sets = {s.code: s for s in FormSet.objects.select_for_update().order_by("id")}
        target = sets.get(code)
        if target is None:
            raise NotFound("Không tìm thấy bộ biểu mẫu.", code="formset_not_found")
        if target.is_active:
            return target
        _check_complete(target)
        previous = next((s for s in sets.values() if s.is_active), None)
        FormSet.objects.filter(is_active=True).update(is_active=False)
        FormSet.objects.filter(pk=target.pk).update(is_active=True)
        target.is_active = True
        audit.record(
            action="formset.activated",
            actor=actor,
            obj=target,
            data={"from": previous.code if previous else None, "to": target.code},
        )
    return target
