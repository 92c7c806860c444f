"""Applicant notifications: what the applicant is told at each change, and only after commit."""

from __future__ import annotations

import pytest
from django.db import transaction

from chinhquyenso.core.models import Notification
from chinhquyenso.dossiers import notify, services
from chinhquyenso.dossiers.models import Status
from tests.dossiers.conftest import local, receive


def sms_for(dossier) -> list[Notification]:
    return list(
        Notification.objects.filter(object_id=str(dossier.pk), channel="sms").order_by("pk")
    )


@pytest.mark.django_db
def test_a_received_dossier_leaves_an_sms_with_its_code(
    clock, birth, desk_officer, desk_unit_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        d = receive(desk_officer, desk_unit_a, birth.procedure)
    sms = sms_for(d)
    assert sms and sms[0].address == "0912345678"
    assert d.code in sms[0].body and d.code in sms[0].subject
    assert Notification.objects.filter(object_id=str(d.pk), channel="email").exists()


@pytest.mark.django_db
def test_a_supplement_request_leaves_an_sms_with_the_reason(
    received, clock, desk_officer, responsible, django_capture_on_commit_callbacks
):
    d = services.forward(actor=desk_officer, dossier=received)
    clock.set(local(2026, 3, 9, 14, 0))
    with django_capture_on_commit_callbacks(execute=True):
        services.request_supplement(
            actor=responsible,
            dossier=d,
            reason="Giấy chứng sinh bị mờ",
            missing_documents=["Giấy chứng sinh (bản rõ)"],
        )
    last = sms_for(d)[-1]
    assert "Giấy chứng sinh bị mờ" in last.body
    assert "Giấy chứng sinh (bản rõ)" in last.body


@pytest.mark.django_db
def test_nothing_is_sent_when_the_transaction_rolls_back(
    clock, birth, desk_officer, desk_unit_a, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        receive(desk_officer, desk_unit_a, birth.procedure)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_the_returned_result_is_told_with_the_lookup_link(
    received,
    clock,
    desk_officer,
    responsible,
    unit_head,
    commune_leader,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.CQS_PUBLIC_BASE_URL = "https://dichvucong.lamdong.gov.vn"
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.forward(actor=responsible, dossier=d)
    d = services.forward(actor=unit_head, dossier=d)
    d = services.approve(actor=commune_leader, dossier=d)
    assert d.status == Status.RESOLVED
    clock.set(local(2026, 3, 11, 8, 5))
    with django_capture_on_commit_callbacks(execute=True):
        services.return_result(
            actor=desk_officer, dossier=d, method="desk", recipient_signature_name="Đặng Thị Hoa"
        )
    last = sms_for(d)[-1]
    assert "đã trả kết quả" in last.subject
    assert "11/03/2026 08:05" in last.body
    assert f"https://dichvucong.lamdong.gov.vn/tra-cuu/{d.code}/" in last.body


@pytest.mark.django_db
def test_every_event_has_a_vietnamese_text_with_code_and_link(received, settings):
    settings.CQS_PUBLIC_BASE_URL = "https://dvc.example.vn/"
    for event in notify.EVENTS:
        subject, body = notify.message(received, event, reason="Lý do thử")
        assert received.code in subject and received.code in body
        assert body.endswith(f" Tra cứu: https://dvc.example.vn/tra-cuu/{received.code}/")
    _, body = notify.message(received, notify.RECEIVED)
    assert notify.vn_time(received.due_at) in body
    assert notify.vn_time(local(2026, 3, 9, 9, 0)) == "09/03/2026 09:00"
    _, body = notify.message(received, notify.PAYMENT_REQUESTED, amount_vnd=1250000)
    assert f"({received.procedure_version.name}) cần nộp 1.250.000 đồng." in body
    _, body = notify.message(
        received, notify.APOLOGY, reason="Chờ xác minh", previous_due_at=local(2026, 3, 9, 9, 0)
    )
    assert "(09/03/2026 09:00)" in body and "Chờ xác minh" in body
    with pytest.raises(ValueError):
        notify.message(received, "nonsense")


@pytest.mark.django_db
def test_a_payment_request_without_an_amount_names_the_obligation(
    received, clock, desk_officer, responsible, django_capture_on_commit_callbacks
):
    """The birth registration is free: no amount is recorded, so the applicant is not told to
    pay "0 đồng" but to fulfil the financial obligation, with the reason."""
    d = services.forward(actor=desk_officer, dossier=received)
    d = services.claim(actor=responsible, dossier=d)
    clock.set(local(2026, 3, 9, 10, 0))
    with django_capture_on_commit_callbacks(execute=True):
        services.request_payment(actor=responsible, dossier=d, reason="Nộp lệ phí cấp bản sao")
    body = sms_for(d)[-1].body
    assert f"Hồ sơ {d.code} (" in body
    assert ") cần thực hiện nghĩa vụ tài chính. Nộp lệ phí cấp bản sao." in body
    assert "0 đồng" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [None, 0])
def test_a_payment_message_without_an_amount(received, amount):
    name = received.procedure_version.name
    _, body = notify.message(received, notify.PAYMENT_REQUESTED, amount_vnd=amount)
    assert body.startswith(f"Hồ sơ {received.code} ({name}) cần thực hiện nghĩa vụ tài chính.")
    assert "đồng" not in body
    _, body = notify.message(
        received, notify.PAYMENT_REQUESTED, amount_vnd=amount, reason="Chờ cơ quan thuế"
    )
    assert "cần thực hiện nghĩa vụ tài chính. Chờ cơ quan thuế." in body


@pytest.mark.django_db
def test_every_service_notice_carries_the_lookup_link(
    received, clock, desk_officer, responsible, settings, django_capture_on_commit_callbacks
):
    """One path for every notice: the services' texts end with the public lookup link too."""
    settings.CQS_PUBLIC_BASE_URL = "https://dichvucong.lamdong.gov.vn"
    d = services.forward(actor=desk_officer, dossier=received)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_supplement(
            actor=responsible, dossier=d, reason="Thiếu giấy tờ", missing_documents=["Tờ khai"]
        )
    bodies = [n.body for n in sms_for(d)]
    assert len(bodies) == 2  # received (in the fixture), supplement requested
    assert all(f"/tra-cuu/{d.code}/" in body.rsplit(" Tra cứu: ", 1)[1] for body in bodies)
    assert bodies[-1].endswith(f" Tra cứu: https://dichvucong.lamdong.gov.vn/tra-cuu/{d.code}/")


@pytest.mark.django_db
def test_an_inter_agency_child_tells_nobody(received):
    before = Notification.objects.count()
    received.parent_id = received.pk  # as a child (in memory only): the parent's desk tells
    assert notify.tell(received, notify.RESOLVED) == []
    assert Notification.objects.count() == before


LONG_NAME = (
    "Cấp giấy phép xây dựng mới đối với công trình cấp III, cấp IV (Công trình không theo "
    "tuyến/Theo tuyến trong đô thị/Tín ngưỡng, tôn giáo/Tượng đài, tranh hoành tráng/Theo giai "
    "đoạn cho công trình không theo tuyến/Theo giai đoạn cho công trình theo tuyến trong đô "
    "thị/Dự án) và nhà ở riêng lẻ"
)


@pytest.mark.django_db
def test_a_long_procedure_name_is_shortened_so_the_sms_is_sent(
    received, settings, django_capture_on_commit_callbacks
):
    """A real procedure name (from the national portal) makes the full text longer than a 4-part
    brandname SMS: the SMS shortens the name and is sent; the e-mail keeps the whole name."""
    from chinhquyenso.core import sms as sms_module
    from chinhquyenso.core.services import notifications

    settings.CQS_PUBLIC_BASE_URL = "https://dichvucong.lamdong.gov.vn"
    version = received.procedure_version
    version.name = LONG_NAME
    version.save(update_fields=["name"])
    assert not sms_module.fits(notify.message(received, notify.RESOLVED)[1])
    with django_capture_on_commit_callbacks(execute=False):
        notify.tell(received, notify.RESOLVED)
    last = sms_for(received)[-1]
    assert sms_module.measure(last.body).parts <= 4
    assert received.code in last.body and "Cấp giấy phép xây dựng mới" in last.body
    assert last.body.endswith(f"https://dichvucong.lamdong.gov.vn/tra-cuu/{received.code}/")
    assert LONG_NAME not in last.body
    notifications.deliver(notification_id=last.pk)
    last.refresh_from_db()
    assert last.state == "sent", last.last_error
    email = (
        Notification.objects.filter(object_id=str(received.pk), channel="email")
        .order_by("pk")
        .last()
    )
    assert LONG_NAME in email.body


@pytest.mark.django_db
def test_the_receipt_sms_of_a_long_named_procedure_fits(
    received, django_capture_on_commit_callbacks
):
    """The receipt notice of the intake is shortened too."""
    from chinhquyenso.core import sms as sms_module

    version = received.procedure_version
    version.name = LONG_NAME
    version.save(update_fields=["name"])
    with django_capture_on_commit_callbacks(execute=False):
        notify.tell(received, notify.RECEIVED)
    last = sms_for(received)[-1]
    assert sms_module.fits(last.body) and received.code in last.body
    assert "tiếp nhận" in last.body and "Ngày hẹn trả kết quả" in last.body


def test_a_payment_request_with_an_unknown_amount_does_not_name_a_partial_sum(
    clock, birth, desk_officer, desk_unit_a, responsible, django_capture_on_commit_callbacks
):
    """The procedure states one fee and leaves another to the tax office (amount unknown)."""
    version = birth.procedure.current_version
    version.fees = [
        {"label": "Lệ phí", "amount_vnd": 50000},
        {"label": "Thuế (cơ quan thuế tính)", "amount_vnd": None},
    ]
    version.save(update_fields=["fees"])
    d = receive(desk_officer, desk_unit_a, birth.procedure)
    assert [f["amount_vnd"] for f in d.fees] == [50000, None]
    d = services.forward(actor=desk_officer, dossier=d)
    d = services.claim(actor=responsible, dossier=d)
    with django_capture_on_commit_callbacks(execute=True):
        services.request_payment(actor=responsible, dossier=d, reason="Chờ thông báo thuế")
    body = sms_for(d)[-1].body
    assert "cần thực hiện nghĩa vụ tài chính. Chờ thông báo thuế." in body
    assert "50.000 đồng" not in body
