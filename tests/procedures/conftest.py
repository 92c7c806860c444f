"""Fixtures of the procedures tests: the 62 real procedures of the national portal sample."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from chinhquyenso.procedures import services

NAME = "procedures-national-portal-sample.json"
# A copy kept with the tests (so CI needs nothing else), then the shared reference data next to
# the repository (../shared/data).
CANDIDATES = (
    Path(__file__).parent / "data" / NAME,
    Path(__file__).resolve().parents[3] / "shared" / "data" / NAME,
)


def _sample_path() -> Path:
    for path in CANDIDATES:
        if path.exists():
            return path
    pytest.fail(f"{NAME} is missing from tests/procedures/data/")


@pytest.fixture(scope="session")
def national_records_data() -> list[dict]:
    return json.loads(_sample_path().read_text(encoding="utf-8"))


@pytest.fixture
def national_records(national_records_data) -> list[dict]:
    return copy.deepcopy(national_records_data)


@pytest.fixture
def catalogue(db, national_records):
    """The 62 procedures imported as the system (as the demo loader does)."""
    report = services.import_catalogue(
        actor=None, system=True, records=national_records, source="sample"
    )
    assert report.ok, report.errors
    return report
