"""Notifications in-app, by e-mail and by SMS, delivered by the real database worker."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from chinhquyenso.core import sms
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.models import AuditEntry, Notification, SmsSimulatorMessage
from chinhquyenso.core.services import apikeys, notifications
from tests.core.test_tasks import drain_queue

# --- Gateways used by the tests (loaded by dotted path from settings.SMS_BACKEND) -----------

FLAKY = {"failures_left": 0, "sent": []}


class FlakyGateway(sms.SmsGateway):
    """Times out `failures_left` times, then accepts."""

    def send(self, *, phone, text, request_id):
        if FLAKY["failures_left"] > 0:
            FLAKY["failures_left"] -= 1
            raise sms.SmsError("Cổng SMS không phản hồi (hết thời gian chờ)")
        FLAKY["sent"].append((phone, text, request_id))
        return f"flaky-{len(FLAKY['sent'])}"


class NotAGateway:
    pass


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_BACKEND = "chinhquyenso.core.sms.SimulatorGateway"
    settings.SMS_BRANDNAME = "UBND-XA"
    settings.CQS_PUBLIC_BASE_URL = "https://dichvucong.example.vn"
    FLAKY["failures_left"] = 0
    FLAKY["sent"] = []


def send(capture, **kwargs) -> list[Notification]:
    """notify() in a transaction that commits (running its on_commit hooks), then the worker."""
    with capture(execute=True):
        rows = notifications.notify(**kwargs)
    drain_queue()
    for row in rows:
        row.refresh_from_db()
    return rows


# --- Channels -------------------------------------------------------------------------------


def test_in_app_is_delivered_at_once(responsible, commune_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        (row,) = notifications.notify(
            recipient=responsible,
            channels=["in_app"],
            subject="Hồ sơ mới",
            body="Bạn được giao xử lý hồ sơ 000.01.39.H39-260101-0001.",
            link="/ho-so/1/",
            about=commune_a,
        )
    assert callbacks == []  # nothing to send in the background
    assert row.state == "delivered" and row.sent_at is not None
    assert (row.object_type, row.object_id) == ("core.organisation", str(commune_a.pk))
    assert not DBTaskResult.objects.exists()


def test_email_is_sent_by_the_worker(responsible, django_capture_on_commit_callbacks, mailoutbox):
    responsible.email = "an.nv@donduong.lamdong.gov.vn"
    responsible.save(update_fields=["email"])
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=responsible,
        channels=["email"],
        subject="Hồ sơ sắp đến hạn",
        body="Hồ sơ 0001 đến hạn ngày 05/01/2026.",
        link="/ho-so/1/",
    )
    assert row.state == "sent" and row.attempts == 1 and row.sent_at is not None
    assert row.provider_message_id.startswith("<")
    (message,) = mailoutbox
    assert message.to == ["an.nv@donduong.lamdong.gov.vn"]
    assert message.subject == "Hồ sơ sắp đến hạn"
    assert "https://dichvucong.example.vn/ho-so/1/" in message.body
    assert DBTaskResult.objects.get().status == TaskResultStatus.SUCCESSFUL


def test_nothing_is_sent_when_the_caller_rolls_back(responsible, mailoutbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(
            recipient=responsible,
            channels=["email"],
            subject="x",
            body="y",
            address_overrides={"email": "a@example.vn"},
        )
        raise RuntimeError("the caller's change failed")
    drain_queue()
    assert mailoutbox == []
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_lost_enqueue_is_picked_up_by_requeue_unsent(responsible, mailoutbox):
    (row,) = notifications.notify(
        recipient=responsible,
        channels=["email"],
        subject="x",
        body="y",
        address_overrides={"email": "a@example.vn"},
    )
    DBTaskResult.objects.all().delete()  # the enqueue was lost, as with a queue that was down
    assert notifications.requeue_unsent(older_than=timedelta(minutes=10)) == 0  # too recent
    out = io.StringIO()
    call_command("notifications_requeue", "--older-than-minutes=0", stdout=out)
    assert "Đã xếp hàng gửi lại 1 thông báo." in out.getvalue()
    drain_queue()
    row.refresh_from_db()
    assert row.state == "sent" and len(mailoutbox) == 1
    assert notifications.requeue_unsent(older_than=timedelta(0)) == 0


def test_sms_goes_to_the_simulator(citizen, django_capture_on_commit_callbacks):
    citizen.phone = "0912 345 678"
    citizen.save(update_fields=["phone"])
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["sms"],
        subject="",
        body="Hồ sơ của bạn đã có kết quả, mời đến nhận tại Bộ phận Một cửa.",
    )
    assert row.state == "sent" and row.attempts == 1
    message = SmsSimulatorMessage.objects.get()
    assert message.phone == "+84912345678"
    assert message.brandname == "UBND-XA"
    assert message.text.startswith("Hồ sơ của bạn")
    assert message.request_id == f"cqs-notification-{row.pk}"
    assert row.provider_message_id == f"sim-{message.pk}"


def test_all_channels_at_once_for_someone_without_an_account(
    responsible, django_capture_on_commit_callbacks, mailoutbox
):
    rows = send(
        django_capture_on_commit_callbacks,
        recipient=responsible,
        channels=["in_app", "email", "sms", "email"],
        subject="Thông báo",
        body="Nội dung",
        address_overrides={"email": "nguoidan@example.vn", "sms": "+84 38 123 4567"},
    )
    assert [(r.channel, r.state) for r in rows] == [
        ("in_app", "delivered"),
        ("email", "sent"),
        ("sms", "sent"),
    ]
    assert len(mailoutbox) == 1
    assert SmsSimulatorMessage.objects.get().phone == "+84381234567"


def test_bad_phone_ends_failed_with_a_clear_error(citizen, django_capture_on_commit_callbacks):
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["sms"],
        subject="",
        body="Thử",
        address_overrides={"sms": "0241234567"},  # a Hà Nội landline
    )
    assert row.state == "failed"
    assert "không phải số di động" in row.last_error
    # Retrying a wrong number cannot help: one attempt, then give up.
    assert row.attempts == 1
    assert DBTaskResult.objects.get().status == TaskResultStatus.FAILED
    assert not SmsSimulatorMessage.objects.exists()
    entry = AuditEntry.objects.get(action="notification.failed")
    assert entry.object_id == str(row.pk)


def test_missing_email_address_ends_failed(citizen, django_capture_on_commit_callbacks):
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["email"],
        subject="x",
        body="y",
    )
    assert row.state == "failed"
    assert row.last_error == "Người nhận chưa có địa chỉ thư điện tử."


def test_gateway_outage_is_retried_then_gives_up(
    citizen, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "tests.core.test_notifications.FlakyGateway"
    FLAKY["failures_left"] = 100
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["sms"],
        subject="",
        body="Thử",
        address_overrides={"sms": "0912345678"},
    )
    assert row.state == "failed"
    assert row.attempts == 5
    assert row.last_error == "SmsError: Cổng SMS không phản hồi (hết thời gian chờ)"
    results = DBTaskResult.objects.order_by("enqueued_at")
    assert [r.status for r in results] == [TaskResultStatus.FAILED] * 5
    assert "Cổng SMS không phản hồi" in results[0].traceback


def test_gateway_hiccup_is_retried_and_sent(citizen, settings, django_capture_on_commit_callbacks):
    settings.SMS_BACKEND = "tests.core.test_notifications.FlakyGateway"
    FLAKY["failures_left"] = 2
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["sms"],
        subject="",
        body="Thử",
        address_overrides={"sms": "0912345678"},
    )
    assert row.state == "sent"
    assert row.attempts == 3
    assert row.last_error == ""
    assert len(FLAKY["sent"]) == 1


def test_delivery_is_idempotent(citizen, django_capture_on_commit_callbacks):
    (row,) = send(
        django_capture_on_commit_callbacks,
        recipient=citizen,
        channels=["sms"],
        subject="",
        body="Thử",
        address_overrides={"sms": "0912345678"},
    )
    # A duplicate task for a row already sent does nothing.
    assert notifications.deliver(notification_id=row.pk) == "skipped"
    # A retry after the gateway took the message but before the row recorded it: the
    # simulator keys on request_id, so nothing is sent twice.
    Notification.objects.filter(pk=row.pk).update(state="queued")
    assert notifications.deliver(notification_id=row.pk) == "sent"
    assert SmsSimulatorMessage.objects.count() == 1


def test_simulator_dedupes_on_request_id(db):
    gateway = sms.SimulatorGateway(brandname="CQSO")
    first = gateway.send(phone="+84912345678", text="Một", request_id="r-1")
    again = gateway.send(phone="+84912345678", text="Một", request_id="r-1")
    other = gateway.send(phone="+84912345678", text="Hai", request_id="r-2")
    assert first == again != other
    assert SmsSimulatorMessage.objects.count() == 2


def test_notify_validation(responsible):
    with pytest.raises(ValidationFailed) as exc:
        notifications.notify(recipient=responsible, channels=["fax"], subject="", body="x")
    assert exc.value.code == "unknown_channel"
    with pytest.raises(ValidationFailed) as exc:
        notifications.notify(channels=["in_app"], subject="", body="x")
    assert exc.value.code == "notification_recipient_required"


# --- SMS rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0912345678", "+84912345678"),
        ("091.234.5678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84372345678", "+84372345678"),
        ("(086) 234-5678", "+84862345678"),
    ],
)
def test_phone_normalisation(raw, expected):
    assert sms.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "091234567", "09123456789", "0241234567", "+1 650 253 0000", "09l2345678"]
)
def test_bad_phone_numbers(raw):
    with pytest.raises(sms.InvalidPhoneNumber):
        sms.normalise_phone(raw)


def test_message_length_rules():
    assert sms.measure("Ho so da co ket qua") == sms.SmsLength("GSM-7", 19, 1, 160)
    assert sms.measure("a" * 161).parts == 2
    assert sms.measure("Hồ sơ đã có kết quả").encoding == "UCS-2"
    assert sms.measure("ồ" * 70).parts == 1
    assert sms.measure("ồ" * 71).parts == 2
    assert sms.measure("€").units == 2
    assert sms.strip_diacritics("Hồ sơ đã được duyệt. ĐỒNG Ý") == "Ho so da duoc duyet. DONG Y"


def test_gateway_limits_and_unsigned_contracts():
    class Unsigned(sms.SimulatorGateway):
        unicode = False
        max_parts = 1

    gateway = Unsigned(brandname="CQSO")
    assert gateway.prepare("Hồ sơ đã có kết quả") == "Ho so da co ket qua"
    with pytest.raises(sms.SmsRejected, match="quá dài"):
        gateway.prepare("x" * 161)


def test_gateway_loader(settings):
    assert isinstance(sms.get_gateway(), sms.SimulatorGateway)
    settings.SMS_BACKEND = "simulator"
    assert sms.get_gateway().brandname == "UBND-XA"
    for bad in ("tests.core.test_notifications.NotAGateway", "khong.co.module.Nay"):
        settings.SMS_BACKEND = bad
        with pytest.raises(ImproperlyConfigured):
            sms.get_gateway()


# --- In-app reading and the API -------------------------------------------------------------


@pytest.fixture
def inbox(responsible, colleague):
    mine = [
        notifications.notify(
            recipient=responsible, channels=["in_app"], subject=f"Việc {i}", body=f"Nội dung {i}"
        )[0]
        for i in range(3)
    ]
    theirs = notifications.notify(
        recipient=colleague, channels=["in_app"], subject="Của đồng nghiệp", body="x"
    )[0]
    return mine, theirs


def test_mark_read_own_only(inbox, responsible):
    mine, theirs = inbox
    notifications.mark_read(user=responsible, notification=mine[0])
    assert notifications.unread_count(responsible) == 2
    with pytest.raises(NotFound) as exc:
        notifications.mark_read(user=responsible, notification=theirs)
    assert exc.value.code == "notification_not_found"


def test_api_lists_only_my_notifications(client, inbox, responsible, django_assert_max_num_queries):
    mine, _ = inbox
    client.force_login(responsible)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/notifications", {"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["unread"] == 3
    assert [item["subject"] for item in body["items"]] == ["Việc 2", "Việc 1"]
    response = client.get("/api/v1/notifications", {"offset": 2, "limit": 2})
    assert [item["id"] for item in response.json()["items"]] == [mine[0].pk]


def test_api_list_forbidden_for_anonymous_and_api_keys(client, commune_admin, commune_a, db):
    assert client.get("/api/v1/notifications").status_code == 401
    _, secret = apikeys.create_api_key(
        actor=commune_admin, organisation=commune_a, name="Hệ thống", scopes=["files:write"]
    )
    response = client.get("/api/v1/notifications", headers={"X-API-Key": secret})
    assert response.status_code == 403
    assert response.json()["code"] == "person_required"


def test_api_mark_read_own(client, inbox, responsible):
    mine, _ = inbox
    client.force_login(responsible)
    response = client.post(f"/api/v1/notifications/{mine[1].pk}/read")
    assert response.status_code == 200
    assert response.json()["read_at"] is not None
    assert client.get("/api/v1/notifications").json()["unread"] == 2
    assert client.get("/api/v1/notifications", {"unread": True}).json()["count"] == 2


def test_api_mark_read_someone_elses_is_404(client, inbox, responsible, citizen):
    _, theirs = inbox
    client.force_login(responsible)
    response = client.post(f"/api/v1/notifications/{theirs.pk}/read")
    assert response.status_code == 404
    assert response.json()["code"] == "notification_not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.force_login(citizen)
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 404
    client.logout()
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read").status_code == 401
