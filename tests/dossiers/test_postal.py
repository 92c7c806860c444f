"""The postal adapter: UPU S10 tracking numbers, the VNPost simulator and the backend loader."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.dossiers import postal
from chinhquyenso.dossiers.postal import (
    PostalGateway,
    Shipment,
    ShipmentState,
    ShipmentStatus,
    SimulatorGateway,
)
from tests.dossiers.test_forms_fixtures import vn

GOOD = {
    "dossier_code": "000.01.39.H39-260302-0001",
    "recipient_name": "Nguyễn Thị Hằng",
    "address": "Thôn Lạc Xuân, xã Đơn Dương, tỉnh Lâm Đồng",
    "phone": "0912345678",
}


# --- S10 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "check"),
    [
        ("47312482", 9),  # the UPU S10 worked example, "AA473124829GB"
        ("12345678", 5),
        ("00000003", 1),
        ("00000008", 0),  # 11 - 1 = 10 becomes 0
        ("00000000", 5),  # 11 - 0 = 11 becomes 5
    ],
)
def test_s10_check_digit(serial, check):
    assert postal.s10_check_digit(serial) == check


def test_s10_check_digit_needs_eight_digits():
    for bad in ("1234567", "123456789", "1234567a"):
        with pytest.raises(ValueError):
            postal.s10_check_digit(bad)


def test_tracking_numbers():
    assert postal.make_tracking_number("EB", 12345678) == "EB123456785VN"
    assert postal.make_tracking_number("RR", 8) == "RR000000080VN"
    assert postal.is_valid_tracking_number("EB123456785VN")
    assert postal.is_valid_tracking_number("AA473124829GB")
    assert not postal.is_valid_tracking_number("EB123456784VN")  # wrong check digit
    assert not postal.is_valid_tracking_number("eb123456785vn")
    assert not postal.is_valid_tracking_number("EB12345678VN")
    assert not postal.is_valid_tracking_number("")
    # Digits of other scripts are digits to Python's \d, not to the postal service.
    assert not postal.is_valid_tracking_number("EB١٢٣٤٥٦٧٨٥VN")


# --- the simulator -----------------------------------------------------------------------------


@pytest.fixture
def gateway(tmp_path):
    return SimulatorGateway(tmp_path / "postal")


def test_ship_issues_a_vnpost_s10_number_and_records_the_item(gateway):
    shipment = gateway.ship(**GOOD, weight_grams=250, now=vn(2026, 3, 3, 9, 0))
    assert isinstance(shipment, Shipment)
    assert shipment.accepted_at == vn(2026, 3, 3, 9, 0)
    number = shipment.tracking_number
    assert number.startswith("EB") and number.endswith("VN") and len(number) == 13
    assert postal.is_valid_tracking_number(number)
    record = json.loads((gateway.directory / f"{number}.json").read_text(encoding="utf-8"))
    assert record["recipient_name"] == "Nguyễn Thị Hằng"
    assert record["dossier_code"] == GOOD["dossier_code"]
    assert record["weight_grams"] == 250


def test_status_moves_on_with_time(gateway):
    accepted = vn(2026, 3, 3, 9, 0)
    number = gateway.ship(**GOOD, now=accepted).tracking_number
    expected = [
        (timedelta(minutes=5), ShipmentState.ACCEPTED, "Bưu cục đã nhận bưu gửi"),
        (timedelta(hours=3), ShipmentState.IN_TRANSIT, "Đang vận chuyển"),
        (timedelta(hours=25), ShipmentState.OUT_FOR_DELIVERY, "Đang phát"),
        (timedelta(hours=49), ShipmentState.DELIVERED, "Phát thành công"),
    ]
    for after, state, label in expected:
        status = gateway.status(number, now=accepted + after)
        assert isinstance(status, ShipmentStatus)
        assert (status.state, status.label) == (state, label)
    delivered = gateway.status(number, now=accepted + timedelta(days=5))
    assert delivered.delivered
    assert delivered.at == accepted + timedelta(hours=48)
    assert [s for s, _at in delivered.history] == [
        "accepted",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]


def test_status_of_unknown_and_malformed_numbers(gateway):
    with pytest.raises(NotFound) as exc:
        gateway.status("EB123456785VN")
    assert exc.value.code == "shipment_not_found"
    assert exc.value.message == "Không tìm thấy bưu gửi với số hiệu này."
    for bad in ("EB123456784VN", "../../etc/passwd", ""):
        with pytest.raises(ValidationFailed) as exc:
            gateway.status(bad)
        assert exc.value.code == "tracking_number_invalid"


def test_numbers_are_never_issued_twice(gateway, monkeypatch):
    draws = iter([12345678, 12345678, 87654321])
    monkeypatch.setattr(postal.secrets, "randbelow", lambda _n: next(draws))
    first = gateway.ship(**GOOD).tracking_number
    second = gateway.ship(**GOOD).tracking_number
    assert first == "EB123456785VN"
    assert second != first
    assert postal.is_valid_tracking_number(second)


def test_many_shipments_are_all_distinct(gateway):
    numbers = {gateway.ship(**GOOD).tracking_number for _ in range(50)}
    assert len(numbers) == 50
    assert len(gateway.shipments()) == 50


@pytest.mark.parametrize(
    "phone",
    ["0912345678", "091 234 5678", "0912.345.678", "+84 912 345 678", "84912345678", "02633812345"],
)
def test_vietnamese_phone_formats_are_accepted(gateway, phone):
    assert gateway.ship(**{**GOOD, "phone": phone}).tracking_number


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "Số điện thoại người nhận không hợp lệ"),
        ("phone", "0112345678", "Số điện thoại người nhận không hợp lệ"),  # no 01x any more
        ("phone", "", "Thiếu số điện thoại người nhận"),
        ("address", "Lâm Đồng", "Địa chỉ nhận không đủ để phát"),
        ("address", "   ", "Địa chỉ nhận không đủ để phát"),
        ("recipient_name", " ", "Thiếu họ tên người nhận"),
        ("dossier_code", "", "Thiếu mã hồ sơ"),
        ("weight_grams", 0, "Khối lượng bưu gửi phải từ 1 đến 30.000 gam"),
        ("weight_grams", 40_000, "Khối lượng bưu gửi phải từ 1 đến 30.000 gam"),
        ("weight_grams", "100", "Khối lượng bưu gửi phải là số gam nguyên"),
    ],
)
def test_bad_recipient_data_is_refused_in_vietnamese(gateway, field, value, message):
    with pytest.raises(ValidationFailed) as exc:
        gateway.ship(**{**GOOD, "weight_grams": 100, field: value})
    assert exc.value.code == "postal_invalid"
    assert exc.value.message.startswith(message)
    assert set(exc.value.details) == {field}
    assert gateway.shipments() == []  # nothing was recorded


def test_every_problem_is_reported_at_once(gateway):
    with pytest.raises(ValidationFailed) as exc:
        gateway.ship(dossier_code="X", recipient_name="", address="Huế", phone="abc")
    assert set(exc.value.details) == {"recipient_name", "address", "phone"}


def test_default_directory_is_under_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    gateway = postal.get_gateway()
    assert isinstance(gateway, SimulatorGateway)
    number = gateway.ship(**GOOD).tracking_number
    assert (tmp_path / "postal" / f"{number}.json").exists()


# --- the loader --------------------------------------------------------------------------------


class FakeCarrier(PostalGateway):
    name = "Hãng thử nghiệm"

    def ship(self, *, dossier_code, recipient_name, address, phone, weight_grams=100):
        return Shipment(postal.make_tracking_number("CP", 1), vn(2026, 3, 3, 9, 0))

    def status(self, tracking_number):
        return ShipmentStatus(
            tracking_number, ShipmentState.DELIVERED, "Phát thành công", vn(2026, 3, 4)
        )


class NotACarrier:
    pass


def test_backend_is_chosen_by_settings(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.CQS_POSTAL_BACKEND = "tests.dossiers.test_postal.FakeCarrier"
    gateway = postal.get_gateway()
    assert isinstance(gateway, FakeCarrier)
    assert gateway.ship(**GOOD).tracking_number == "CP000000014VN"
    settings.CQS_POSTAL_BACKEND = "simulator"
    assert isinstance(postal.get_gateway(), SimulatorGateway)
    del settings.CQS_POSTAL_BACKEND
    assert isinstance(postal.get_gateway(), SimulatorGateway)


def test_a_backend_must_be_a_postal_gateway(settings):
    settings.CQS_POSTAL_BACKEND = "tests.dossiers.test_postal.NotACarrier"
    with pytest.raises(TypeError):
        postal.get_gateway()


def test_gateway_contract_is_abstract():
    with pytest.raises(TypeError):
        PostalGateway()
