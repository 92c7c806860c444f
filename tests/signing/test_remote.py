"""Remote signing (ký số từ xa): RemoteKey over CSC v2 against the local simulator, a real HTTP
service on 127.0.0.1. The holder's confirmation is played by the simulator's /confirm page."""

from __future__ import annotations

import logging

import pytest

from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.signing import services, validation
from chinhquyenso.signing.remote import RemoteKey, RemoteService
from tests.signing.conftest_remote import *  # noqa: F403 (fixtures)
from tests.signing.conftest_remote import REMOTE_USER, holder_answers
from tests.signing.pki import P12_PASSWORD


def _open(service, pin=P12_PASSWORD, **kwargs):
    kwargs.setdefault("confirm_timeout", 10)
    kwargs.setdefault("poll_interval", 0.05)
    return RemoteKey(service=service, user_id=REMOTE_USER, pin=pin, **kwargs)


def _code(callable_, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as err:
        callable_(*args, **kwargs)
    return err.value


def test_signed_after_confirmation_on_the_phone_page(
    demo_trusted, remote_simulator, remote_service, one_page_pdf, sign_options, leader, caplog
):
    caplog.set_level(logging.DEBUG)
    phone = holder_answers(remote_simulator, approve=True, via_page=remote_service.url)
    with _open(remote_service, description="Ký 1 công văn") as key:
        phone.join()
        signed = services.sign_pdf(
            actor=leader,
            pdf_bytes=one_page_pdf,
            key=key,
            field_name="ChuKy",
            level="B-LT",
            options=sign_options,
        )
    report = validation.validate_pdf(signed)
    signature = report["signatures"][0]
    assert signature["verdict"]["indication"] == "passed"
    assert signature["signer"]["name"] == "Võ Minh Giang"
    assert remote_simulator.signed_count == 1
    entry = AuditEntry.objects.filter(action="signature.applied").latest("id")
    assert entry.data["key_kind"] == "remote"
    assert entry.actor == leader
    # Neither the PIN nor the system's token reach the audit trail or the logs.
    for secret in (P12_PASSWORD, remote_service.token):
        assert secret not in str(entry.data)
        assert secret not in caplog.text


def test_one_authorisation_covers_the_batch_and_no_more(
    demo_trusted, remote_simulator, remote_service, one_page_pdf, sign_options
):
    remote_simulator.auto_confirm = True
    with _open(remote_service, num_signatures=2) as key:
        for _ in range(2):
            services.sign_pdf(
                actor=None,
                pdf_bytes=one_page_pdf,
                key=key,
                field_name="ChuKy",
                level="B-T",
                options=sign_options,
            )
        assert key.remaining == 0
        err = _code(
            services.sign_pdf,
            actor=None,
            pdf_bytes=one_page_pdf,
            key=key,
            field_name="ChuKy",
            level="B-T",
            options=sign_options,
        )
    assert err.code == "signing_failed"
    assert remote_simulator.signed_count == 2


def test_unconfirmed_request_times_out_and_nothing_is_signed(
    demo_trusted, remote_simulator, remote_service
):
    err = _code(_open, remote_service, confirm_timeout=0.5)
    assert err.code == "remote_not_confirmed"
    # The request was withdrawn: a late confirmation on the phone signs nothing.
    assert remote_simulator.pending() == []
    assert remote_simulator.grants == {}
    assert remote_simulator.signed_count == 0
    assert not AuditEntry.objects.filter(action="signature.applied").exists()


def test_refused_on_the_phone(remote_simulator, remote_service):
    phone = holder_answers(remote_simulator, approve=False, via_page=remote_service.url)
    err = _code(_open, remote_service)
    phone.join()
    assert err.code == "remote_refused"
    assert remote_simulator.grants == {}


def test_wrong_pin_asks_nobody_to_confirm(remote_simulator, remote_service):
    err = _code(_open, remote_service, pin="sai-ma-pin-9999")
    assert err.code == "wrong_pin"
    assert "sai-ma-pin-9999" not in err.message
    assert remote_simulator.pending() == []


def test_unknown_holder(remote_simulator, remote_service):
    err = _code(RemoteKey, service=remote_service, user_id="000000000000", pin="x")
    assert err.code == "remote_no_credential"


def test_bad_system_token(remote_simulator, remote_service):
    service = RemoteService(url=remote_service.url, token="khong-dung")
    err = _code(_open, service)
    assert err.code == "remote_unauthorized"
    assert "khong-dung" not in err.message


def test_service_down(remote_simulator):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = RemoteService(url=f"http://127.0.0.1:{port}", token="t", timeout=2)
    err = _code(_open, service)
    assert err.code == "remote_unavailable"
    assert "Không kết nối được" in err.message
