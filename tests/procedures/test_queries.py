"""Read side: search, procedures of an organisation, current process."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chinhquyenso.core.errors import NotFound
from chinhquyenso.procedures import queries, services
from chinhquyenso.procedures.models import Procedure


def codes(qs) -> list[str]:
    return [p.national_code for p in qs]


def test_search_ignores_accents_and_case(catalogue):
    assert "1.001193" in codes(queries.search_procedures("dang ky khai sinh"))
    assert "1.001193" in codes(queries.search_procedures("ĐĂNG KÝ KHAI SINH"))
    assert codes(queries.search_procedures("1.001193")) == ["1.001193"]
    assert codes(queries.search_procedures("khai sinh luu dong")) == ["1.003583"]
    assert not queries.search_procedures("không có thủ tục này").exists()


def test_filters_by_field_and_level(catalogue):
    civil = queries.catalogue(field="Hộ tịch")
    assert civil.count() == 24
    field_id = civil.first().field_id
    assert queries.catalogue(field=field_id).count() == 24
    assert queries.catalogue(level="province").count() == 13
    assert queries.catalogue(q="khai sinh", level="commune").count() >= 5


def test_inactive_procedures_leave_the_public_list(catalogue, province_admin):
    procedure = queries.get_procedure("1.001193")
    services.update_procedure(actor=province_admin, procedure=procedure, is_active=False)
    assert "1.001193" not in codes(queries.catalogue())
    assert queries.get_procedure("1.001193").is_active is False


def test_unknown_code_is_not_found(catalogue):
    with pytest.raises(NotFound) as exc:
        queries.get_procedure("9.999999")
    assert exc.value.code == "procedure_not_found"


def test_procedures_for_organisation(catalogue, province_admin, province, commune_a, commune_b):
    birth = queries.get_procedure("1.001193")
    residence = queries.get_procedure("1.014061")
    criminal_record = queries.get_procedure("3.000333")
    services.assign_organisations(actor=province_admin, procedure=birth, organisations=[commune_a])
    services.assign_organisations(
        actor=province_admin, procedure=residence, organisations=[commune_b]
    )
    services.assign_organisations(
        actor=province_admin, procedure=criminal_record, organisations=[province]
    )
    assert codes(queries.procedures_for_organisation(commune_a)) == ["1.001193"]
    # Received anywhere in the province (phi địa giới): commune A may receive it too.
    services.update_procedure(actor=province_admin, procedure=residence, location_independent=True)
    assert codes(queries.procedures_for_organisation(commune_a)) == ["1.001193", "1.014061"]
    assert codes(queries.procedures_for_organisation(commune_b)) == ["1.014061"]
    assert codes(queries.procedures_for_organisation(province)) == ["1.014061", "3.000333"]


def test_current_process_has_its_steps_in_one_go(catalogue, commune_a, unit_a, commune_admin):
    birth = queries.get_procedure("1.001193")
    assert queries.current_process(birth, commune_a) is None
    services.default_process(actor=commune_admin, procedure=birth, organisation=commune_a)
    with CaptureQueriesContext(connection) as ctx:
        process = queries.current_process(birth, commune_a)
        names = [(s.name, s.unit.name) for s in process.steps.all()]
    assert len(names) == 4
    assert len(ctx.captured_queries) == 2


def test_catalogue_list_query_count(catalogue):
    with CaptureQueriesContext(connection) as ctx:
        rows = [
            (p.national_code, p.current_version.name, p.field.name)
            for p in queries.catalogue()[:50]
        ]
    assert len(rows) == 50
    assert len(ctx.captured_queries) == 1


def test_search_text_follows_a_new_name(catalogue, province_admin):
    procedure = Procedure.objects.get(national_code="1.001193")
    services.update_procedure(
        actor=province_admin, procedure=procedure, name="Đăng ký khai sinh mới"
    )
    assert codes(queries.search_procedures("khai sinh moi")) == ["1.001193"]
