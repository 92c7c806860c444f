"""The dossier page: applicant, documents, history, Form 05 sheet, and the action forms the
current user may use now; each action is a POST with `expected_revision` to one service.
Also the printed forms (01–05) and the satisfaction kiosk."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from chinhquyenso.core import errors, permissions
from chinhquyenso.core.models import Organisation, Position, User
from chinhquyenso.core.services import files as file_service
from chinhquyenso.dossiers import (
    events,
    forms_pdf,
    formsets,
    queries,
    services,
    tasks,
    timeliness,
    views_public,
)
from chinhquyenso.dossiers import forms as f
from chinhquyenso.dossiers.models import (
    Dossier,
    FormPurpose,
    PauseKind,
    Rating,
    SatisfactionLevel,
    Status,
    StepRun,
)
from chinhquyenso.dossiers.permissions import APPROVE, ASSIGN, RECEIVE, RETURN
from chinhquyenso.dossiers.privacy import sees_personal_data
from chinhquyenso.dossiers.public import mask_name
from chinhquyenso.dossiers.services import _common as c
from chinhquyenso.dossiers.services import rating as rating_service
from chinhquyenso.dossiers.services import results, routing
from chinhquyenso.dossiers.views._common import STALE_MESSAGE, page
from chinhquyenso.procedures.models import StepKind
from chinhquyenso.signing import seal
from chinhquyenso.signing.keys import Pkcs11Key, Pkcs12Key

S = Status
ROUTABLE = (S.RECEIVED, S.PROCESSING)
RUNNING = (S.RECEIVED, S.PROCESSING, S.AWAITING_SUPPLEMENT, S.AWAITING_PAYMENT)

# Action code -> (button label, form class, success message). Order = order on the page.
ACTIONS: dict[str, tuple[str, type, str]] = {
    "accept": ("Tiếp nhận hồ sơ trực tuyến", f.ActionForm, "Đã tiếp nhận hồ sơ."),
    "claim": ("Nhận xử lý", f.ActionForm, "Bạn đã nhận xử lý hồ sơ."),
    "assign": ("Phân công xử lý", f.AssignForm, "Đã phân công xử lý hồ sơ."),
    "approve": ("Phê duyệt", f.CommentForm, "Đã phê duyệt hồ sơ."),
    "forward": ("Chuyển bước tiếp theo", f.ForwardForm, "Đã chuyển hồ sơ."),
    "return_to_desk": (
        "Chuyển kết quả về Bộ phận Một cửa",
        f.ReturnToDeskForm,
        "Đã chuyển kết quả về Bộ phận Một cửa.",
    ),
    "transfer": ("Chuyển liên thông", f.TransferForm, "Đã chuyển hồ sơ liên thông."),
    "send_back": ("Trả lại bước trước", f.SendBackForm, "Đã trả lại hồ sơ."),
    "request_supplement": (
        "Yêu cầu bổ sung hồ sơ",
        f.SupplementRequestForm,
        "Đã yêu cầu bổ sung hồ sơ; thời hạn tạm dừng.",
    ),
    "receive_supplement": (
        "Nhận hồ sơ bổ sung",
        f.ReceiveSupplementForm,
        "Đã nhận hồ sơ bổ sung; hồ sơ tiếp tục được xử lý.",
    ),
    "request_payment": (
        "Yêu cầu thực hiện nghĩa vụ tài chính",
        f.PaymentRequestForm,
        "Đã yêu cầu thực hiện nghĩa vụ tài chính.",
    ),
    "confirm_payment": (
        "Xác nhận đã nộp phí, lệ phí",
        f.ConfirmPaymentForm,
        "Đã xác nhận nộp phí, lệ phí.",
    ),
    "sign_result": (
        "Ký số kết quả",
        f.SignResultForm,
        "Đã ký số kết quả; tệp kết quả đã ký thay cho tệp chưa ký.",
    ),
    "return_result": ("Trả kết quả", f.ReturnResultForm, "Đã trả kết quả."),
    "issue_apology": (
        "Lập phiếu xin lỗi, hẹn lại ngày trả",
        f.ApologyForm,
        "Đã lập phiếu xin lỗi và hẹn lại ngày trả kết quả.",
    ),
    "refuse": ("Từ chối hồ sơ", f.ReasonForm, "Đã từ chối hồ sơ."),
    "stop": ("Dừng xử lý", f.ReasonForm, "Đã dừng xử lý hồ sơ."),
    "withdraw": ("Rút hồ sơ (theo đề nghị của người nộp)", f.ReasonForm, "Đã ghi nhận rút hồ sơ."),
}
EXTRA_LABELS = {"rated": "Đánh giá mức độ hài lòng", "result_signed": "Ký số kết quả giải quyết"}


# --- Who may do what now ---------------------------------------------------------------------


@dataclass
class Route:
    steps: list
    forward: list
    has_return: bool
    transfer_orgs: list


def _ok(check, *args) -> bool:
    try:
        check(*args)
    except (errors.PermissionDenied, errors.ValidationFailed):
        return False
    return True


def transfer_targets(d: Dossier, steps: list) -> list[Organisation]:
    """Organisations a transfer step among `steps` may hand the dossier to: the step's fixed
    organisation, or (an open transfer step) any other organisation with a current process
    for the procedure (the service refuses one without, code `no_process`)."""
    fixed = {s.transfer_to_id for s in steps if s.transfer_to_id}
    q = Q(pk__in=fixed)
    if any(not s.transfer_to_id for s in steps):
        q |= Q(processes__procedure=d.procedure_id, processes__is_current=True)
    return list(
        Organisation.objects.filter(q, is_active=True)
        .exclude(pk=d.handling_organisation_id)
        .distinct()
        .order_by("name")
    )


def _route(d: Dossier) -> Route:
    if d.process_id is None or d.current_step is None:
        return Route([], [], False, [])
    steps = routing.steps_of(d.process)
    step = d.current_step
    allowed = routing.next_orders(step, len(steps))
    ahead = [s for s in steps if s.order in allowed and s.order > step.order]
    # A transfer step is entered through the transfer form (choose the organisation).
    forward = [s for s in ahead if s.kind not in (StepKind.RETURN, StepKind.TRANSFER)]
    transfer_steps = [s for s in ahead if s.kind == StepKind.TRANSFER]
    if step.kind == StepKind.TRANSFER:
        transfer_steps.append(step)
    transfer_orgs = transfer_targets(d, transfer_steps) if transfer_steps else []
    has_return = any(s.kind == StepKind.RETURN for s in ahead)
    return Route(steps, forward, has_return, transfer_orgs)


def eligible_handlers(step) -> list[User]:
    """Officials holding the step's role in the step's unit (or an organisation above it)
    through a current position: whom the step may be assigned to (`services.assign`)."""
    ids = [int(x) for x in step.unit.path.strip("/").split("/") if x]
    users = Position.objects.active().filter(
        role=step.role, organisation_id__in=ids, organisation__is_active=True
    )
    return list(
        User.objects.filter(is_active=True, pk__in=users.values("user_id")).order_by(
            "full_name", "username"
        )
    )


def available_actions(user, d: Dossier, route: Route) -> list[str]:
    """The actions `user` may take on `d` now (mirrors the services' checks; the services
    decide again when the form is posted)."""
    status = d.status
    step = d.current_step
    may_step = c.may_act_on_step(user, d)
    has_child = status in ROUTABLE and c.active_child(d) is not None
    can = permissions.can
    out: list[str] = []
    desk = can(user, RECEIVE, d.receiving_organisation) or can(
        user, RETURN, d.receiving_organisation
    )
    manager = _ok(c.desk_or_step_or_manager, user, d)
    if status == S.SUBMITTED and can(user, RECEIVE, d.receiving_organisation):
        out.append("accept")
    if status in ROUTABLE and not has_child and step is not None:
        approver = can(user, APPROVE, step.unit)
        if d.current_handler_id is None and c.holds_role(user, step.role, step.unit):
            out.append("claim")
        if step.kind != StepKind.RETURN and can(user, ASSIGN, step.unit):
            out.append("assign")
        if may_step:
            if step.kind == StepKind.APPROVE:
                if approver and status == S.PROCESSING:
                    out.append("approve")
            elif route.forward:
                out.append("forward")
            if route.has_return and (step.kind != StepKind.APPROVE or approver):
                out.append("return_to_desk")
            if route.transfer_orgs:
                out.append("transfer")
            if step.order > 1:
                out.append("send_back")
            out += ["request_supplement", "request_payment"]
    if status == S.AWAITING_SUPPLEMENT and manager:
        out.append("receive_supplement")
    if status == S.AWAITING_PAYMENT and manager:
        out.append("confirm_payment")
    if results.may_sign_result(user, d):
        out.append("sign_result")
    if status == S.RESOLVED and can(user, RETURN, d.receiving_organisation):
        out.append("return_result")
    if status in RUNNING and manager:
        out.append("issue_apology")
    if (
        status in (S.SUBMITTED, *ROUTABLE)
        and not has_child
        and (
            may_step
            or (status == S.SUBMITTED and can(user, RECEIVE, d.receiving_organisation))
            or can(user, APPROVE, d.handling_organisation)
        )
    ):
        out.append("refuse")
    if status in RUNNING and (
        can(user, APPROVE, d.handling_organisation)
        or (d.current_unit is not None and can(user, APPROVE, d.current_unit))
    ):
        out.append("stop")
    if (status == S.SUBMITTED or status in RUNNING) and d.parent_id is None and desk:
        out.append("withdraw")
    order = list(ACTIONS)
    return sorted(dict.fromkeys(out), key=order.index)


def _form(action: str, d: Dossier, route: Route, data=None, files=None):
    cls = ACTIONS[action][1]
    kwargs = {}
    if cls is f.ForwardForm:
        kwargs["steps"] = route.forward
    elif cls is f.TransferForm:
        kwargs["organisations"] = route.transfer_orgs
    elif cls is f.AssignForm:
        kwargs["handlers"] = eligible_handlers(d.current_step) if d.current_step else []
    elif cls is f.SignResultForm:
        kwargs["token"] = token_configured()
    elif cls is f.SupplementRequestForm:
        kwargs["documents"] = [doc.get("name", "") for doc in d.procedure_version.documents or []]
    initial = {"expected_revision": d.revision}
    if action == "return_result":
        initial |= {"method": d.result_delivery, "recipient": ""}
    return cls(data, files, initial=initial, prefix=action, **kwargs)


def printable_forms(d: Dossier) -> list[tuple[str, str]]:
    """(purpose, title) of the forms that apply to the dossier now, in the active set."""
    wanted = []
    if d.received_at is not None:
        wanted.append(FormPurpose.RECEIPT)
    if d.supplement_count or d.status == S.AWAITING_SUPPLEMENT:
        wanted.append(FormPurpose.SUPPLEMENT)
    if d.status == S.REFUSED:
        wanted.append(FormPurpose.REFUSAL)
    if d.apology_count:
        wanted.append(FormPurpose.APOLOGY)
    if d.status == S.STOPPED:
        wanted.append(FormPurpose.STOP)
    if d.received_at is not None:
        wanted.append(FormPurpose.CONTROL_SHEET)
    templates = {t.purpose: t for t in formsets.active_form_set().forms.all()}
    return [
        (p.value, f"Mẫu {templates[p].number}: {templates[p].title}")
        for p in wanted
        if p in templates
    ]


def _context(request, d: Dossier, *, bound: dict | None = None, error: dict | None = None):
    user = request.user
    route = _route(d)
    names = available_actions(user, d, route)
    bound = bound or {}
    actions = []
    for name in names:
        form = bound.get(name) or _form(name, d, route)
        actions.append(
            {
                "name": name,
                "label": ACTIONS[name][0],
                "form": form,
                "error": (error or {}).get(name),
                "simple": type(form) is f.ActionForm,
            }
        )
    runs = list(
        StepRun.objects.filter(dossier=d)
        .select_related("step", "unit", "handler", "handed_over_by")
        .order_by("started_at", "id")
    )
    paused_at = d.clock_paused_at
    for run in runs:
        state = run.timeliness or timeliness.evaluate_step(run, paused_at=paused_at).state
        run.state_label = str(timeliness.LABELS.get(state, ""))
        run.state = state
    history = list(d.events.select_related("actor", "from_step", "to_step").order_by("at", "id"))
    for event in history:
        event.label = EXTRA_LABELS.get(event.action) or events.label_for(event.action)
        event.from_label = Status(event.from_status).label if event.from_status else ""
        event.to_label = Status(event.to_status).label if event.to_status else ""
    pauses = list(d.pauses.order_by("started_at"))
    for pause in pauses:
        pause.kind_label = PauseKind(pause.kind).label
    personal = sees_personal_data(user, d)
    rating = Rating.objects.filter(dossier=d).first()
    signature = results.signature_entry(d)
    receipt = tasks.receipt_entry(d) if d.received_at is not None else None
    return {
        "dossier": d,
        "state": timeliness.evaluate(d),
        "personal": personal,
        "masked_name": mask_name(d.applicant_name),
        "documents": list(
            d.documents.select_related("file", "reused_from__dossier").order_by(
                "supplement_round", "id"
            )
        ),
        "runs": runs,
        "history": history,
        "pauses": pauses,
        "children": list(
            d.children.select_related(
                "handling_organisation", "current_step", "current_unit", "current_handler"
            ).order_by("id")
        ),
        "actions": actions,
        "forms": printable_forms(d),
        # Issue #4: whether the forms are issued sealed, and the result's signature.
        "forms_sealed": seal.has_seal(d.receiving_organisation),
        "receipt_signed": bool(receipt and receipt.data.get("signed")),
        "result_signature": signature.data if signature is not None else None,
        "result_signed_at": signature.at if signature is not None else None,
        "rating": rating,
        "rating_level": SatisfactionLevel(rating.level).label if rating else "",
        "may_rate": rating is None and rating_service.can_rate(user, d),
    }


@page(None)
@require_GET
def detail(request, code: str):
    d = queries.get_dossier_for(request.user, code)
    return render(request, "dossiers/detail.html", _context(request, d))


# --- Actions ------------------------------------------------------------------------------


def token_configured() -> bool:
    return bool(settings.SIGNING_PKCS11_LIB and settings.SIGNING_PKCS11_TOKEN)


def _signing_key(user, data):
    """The signer's key from the "Ký số kết quả" form (raises SigningKeyError, in Vietnamese,
    for a wrong password or PIN: nothing has changed then)."""
    if data.get("source") == "token" and token_configured():
        return Pkcs11Key(
            lib=settings.SIGNING_PKCS11_LIB,
            token_label=settings.SIGNING_PKCS11_TOKEN,
            pin=data["pin"],
            key_label=user.username,
        )
    return Pkcs12Key(data["p12"].read(), data["password"])


def _stored(user, upload):
    """The uploaded scan, stored. Precondition: inside `file_service.discard_on_failure()`
    (as `act` runs `_run`), so its bytes go again when the service then refuses the action."""
    if not upload:
        return None
    return file_service.store_file(actor=user, uploaded=upload, purpose="scan", name=upload.name)


def _run(action: str, user, d: Dossier, form, route: Route):
    data = form.cleaned_data
    kw = {"actor": user, "dossier": d, "expected_revision": data["expected_revision"]}
    if action == "accept":
        return services.accept_online_submission(**kw)
    if action == "claim":
        return services.claim(**kw)
    if action == "assign":
        handler = User.objects.get(pk=data["handler"])  # one of the form's choices
        return services.assign(**kw, handler=handler, comment=data["comment"])
    if action == "approve":
        return services.approve(**kw, comment=data["comment"])
    if action == "forward":
        return services.forward(**kw, to_step=data["to_step"], comment=data["comment"])
    if action == "return_to_desk":
        stored = _stored(user, data.get("result"))
        return services.return_to_desk(**kw, comment=data["comment"], result_file=stored)
    if action == "transfer":
        org = next((o for o in route.transfer_orgs if o.pk == data["to_organisation"]), None)
        if org is None:
            raise errors.ValidationFailed("Cơ quan liên thông không hợp lệ.", code="invalid")
        return services.transfer(**kw, to_organisation=org, comment=data["comment"])
    if action == "send_back":
        return services.send_back(**kw, comment=data["comment"])
    if action == "request_supplement":
        return services.request_supplement(
            **kw, reason=data["reason"], missing_documents=form.missing_documents()
        )
    if action == "receive_supplement":
        stored = _stored(user, data.get("scan"))
        documents = (
            [{"name": "Giấy tờ bổ sung", "provided": True, "file_id": stored.pk}] if stored else []
        )
        return services.receive_supplement(**kw, documents=documents, comment=data["comment"])
    if action == "request_payment":
        return services.request_payment(**kw, reason=data["reason"])
    if action == "confirm_payment":
        return services.confirm_payment(**kw, reference=data["reference"])
    if action == "sign_result":
        with _signing_key(user, data) as key:
            return services.sign_result(**kw, key=key)
    if action == "return_result":
        return services.return_result(
            **kw, method=data["method"], recipient_signature_name=data["recipient"]
        )
    if action == "issue_apology":
        return services.issue_apology(**kw, reason=data["reason"], new_due_at=data["new_due_at"])
    if action == "refuse":
        return services.refuse(**kw, reason=data["reason"])
    if action == "stop":
        return services.stop(**kw, reason=data["reason"])
    if action == "withdraw":
        return services.withdraw(**kw, reason=data["reason"])
    raise Http404


@page(None)
@require_POST
def act(request, code: str, action: str):
    if action not in ACTIONS:
        raise Http404
    user = request.user
    d = queries.get_dossier_for(user, code)
    route = _route(d)
    form = _form(action, d, route, request.POST, request.FILES)
    status = 400
    message = None
    if form.is_valid():
        try:
            # Not a plain atomic(): a scan stored for a refused action leaves no bytes behind.
            with file_service.discard_on_failure():
                _run(action, user, d, form, route)
        except errors.Conflict as exc:
            status = 409
            message = STALE_MESSAGE if exc.code == "dossier_changed" else exc.message
        except errors.PermissionDenied as exc:
            status, message = 403, exc.message
        except errors.DomainError as exc:
            message = exc.message
            if isinstance(exc.details, dict):
                for name, msgs in exc.details.items():
                    if name in form.fields and isinstance(msgs, list):
                        form.add_error(name, msgs)
        else:
            messages.success(request, ACTIONS[action][2])
            try:
                queries.get_dossier_for(user, code)
            except errors.NotFound:
                return redirect("dossiers:queue")
            return redirect("dossiers:detail", code=code)
    d = queries.get_dossier_for(user, code)  # fresh, for the page shown again
    context = _context(request, d, bound={action: form}, error={action: message or "invalid"})
    if message is None:
        context["actions"] = [
            {**a, "error": "Vui lòng kiểm tra lại thông tin."} if a["name"] == action else a
            for a in context["actions"]
        ]
    if not any(a["name"] == action for a in context["actions"]):
        context["page_error"] = message or "Bạn không thể thực hiện thao tác này lúc này."
    return render(request, "dossiers/detail.html", context, status=status)


# --- Printed forms -------------------------------------------------------------------------


def _cannot_print(request, message: str):
    context = {"status": 400, "title": "Không in được biểu mẫu", "message": message}
    return render(request, "error.html", context, status=400)


@page(None)
@require_GET
def form_pdf(request, code: str, purpose: str):
    """The forms the dossier page offers now (`printable_forms`: a refusal only for a refused
    dossier, …), as PDF, for those who may see the applicant's personal data the forms carry
    (`privacy`); sealed with the receiving organisation's seal when it has one (otherwise
    marked "Chưa ký số"; issue #4)."""
    if purpose not in FormPurpose.values or purpose == FormPurpose.REGISTER:
        raise Http404
    d = queries.get_dossier_for(request.user, code)
    if not sees_personal_data(request.user, d):
        raise PermissionDenied
    if purpose not in {p for p, _title in printable_forms(d)}:
        return _cannot_print(request, "Biểu mẫu này không áp dụng cho hồ sơ ở tình trạng hiện nay.")
    try:
        issued = forms_pdf.issue_form(dossier=d, purpose=purpose)
    except errors.ValidationFailed as exc:
        return _cannot_print(request, exc.message)
    response = HttpResponse(issued.pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{d.code}-{purpose}.pdf"'
    return response


# --- Satisfaction kiosk --------------------------------------------------------------------


@page(None)
def kiosk(request, code: str):
    """Opened by the desk officer on the tablet at the desk, filled in by the applicant: only
    the code and the organisation are shown, nothing personal."""
    d = queries.get_dossier_for(request.user, code)
    if not (
        permissions.can(request.user, RECEIVE, d.receiving_organisation)
        or permissions.can(request.user, RETURN, d.receiving_organisation)
    ):
        raise PermissionDenied
    return views_public.kiosk_page(
        request,
        code=d.code,
        organisation_name=d.receiving_organisation.name,
        done=Rating.objects.filter(dossier=d).exists(),
        ratable=d.status in rating_service.RATABLE,
        rate=lambda **rating: services.rate_dossier(dossier=d, actor=request.user, **rating),
        again=reverse("dossiers:kiosk", args=[d.code]),
    )


@page(None)
@require_GET
def rating_qr(request, code: str):
    """A rating link for the dossier as a QR code: the applicant scans it with their phone, or
    the desk opens it on a tablet that is not signed in (`views_public.rating_link`)."""
    d = queries.get_dossier_for(request.user, code)
    try:
        token = rating_service.rating_link_token(actor=request.user, dossier=d)
    except errors.PermissionDenied:
        raise PermissionDenied from None
    except errors.DomainError as exc:
        return _cannot_print(request, exc.message)
    path = reverse("public:rating_link", args=[token])
    url = f"{settings.CQS_PUBLIC_BASE_URL.rstrip('/')}{path}"
    return render(
        request,
        "dossiers/rating_qr.html",
        {
            "dossier": d,
            "url": url,
            "path": path,
            "qr": forms_pdf.make_qr(url).svg_data_uri(scale=6),
            "minutes": rating_service.link_lifetime_seconds() // 60,
        },
    )
