"""Who may sign with which certificate (issue #4): a person with a certificate registered to
them (`require_signer_holds`), a seal with a certificate registered to the organisation whose
seal it is (`require_seal_of`). Checks only: nothing is written, refused or not."""

from __future__ import annotations

import pytest
from asn1crypto import x509 as asn1_x509

from chinhquyenso.core.errors import PermissionDenied, ValidationFailed
from chinhquyenso.core.models import AuditEntry
from chinhquyenso.signing import certificates
from tests.signing.conftest import register_for


def _code(callable_, *args) -> str:
    with pytest.raises((PermissionDenied, ValidationFailed)) as err:
        callable_(*args)
    return err.value.code


def test_own_active_certificate_passes_as_der_or_asn1(responsible, pki):
    row = register_for(responsible, pki["leader"].cert_der)
    before = AuditEntry.objects.count()
    cert = asn1_x509.Certificate.load(pki["leader"].cert_der)
    assert certificates.require_signer_holds(responsible, cert) == row
    assert certificates.require_signer_holds(responsible, pki["leader"].cert_der) == row
    assert AuditEntry.objects.count() == before  # a check writes nothing


def test_someone_elses_unregistered_and_deactivated(responsible, colleague, commune_a, pki):
    der = pki["leader"].cert_der
    assert _code(certificates.require_signer_holds, responsible, der) == (
        "certificate_not_registered"
    )
    row = register_for(colleague, der)
    assert _code(certificates.require_signer_holds, responsible, der) == (
        "certificate_of_another_person"
    )
    certificates.deactivate_certificate(actor=colleague, certificate_id=row.pk)
    # Switched off by its holder, it is still not the responsible official's.
    assert _code(certificates.require_signer_holds, responsible, der) == (
        "certificate_of_another_person"
    )
    assert _code(certificates.require_signer_holds, colleague, der) == "certificate_deactivated"
    seal = pki["organisation"].cert_der
    register_for(None, seal, organisation=commune_a)
    assert _code(certificates.require_signer_holds, responsible, seal) == (
        "certificate_of_another_person"
    )


def test_only_signed_in_people_sign_with_personal_certificates(citizen, anonymous, pki):
    der = pki["leader"].cert_der
    for actor in (anonymous, None):
        assert _code(certificates.require_signer_holds, actor, der) == "person_required"
    # A citizen holds no registered certificate here (only officials register one).
    assert _code(certificates.require_signer_holds, citizen, der) == "certificate_not_registered"


def test_a_seal_belongs_to_its_organisation_and_the_units_that_borrow_it(
    province, commune_a, commune_b, unit_a, pki
):
    der = pki["organisation"].cert_der
    assert _code(certificates.require_seal_of, commune_a, der) == "certificate_not_registered"
    row = register_for(None, der, organisation=commune_a)
    assert certificates.require_seal_of(commune_a, der) == row
    assert certificates.require_seal_of(unit_a, der) == row  # a unit uses its commune's seal
    for other in (commune_b, province):
        assert _code(certificates.require_seal_of, other, der) == "certificate_of_another_person"
    certificates.deactivate_certificate(actor=None, certificate_id=row.pk)
    assert _code(certificates.require_seal_of, commune_a, der) == "certificate_deactivated"


def test_a_commune_does_not_borrow_the_province_seal(province, commune_a, pki):
    der = pki["organisation"].cert_der
    register_for(None, der, organisation=province)
    assert certificates.require_seal_of(province, der).organisation == province
    assert _code(certificates.require_seal_of, commune_a, der) == "certificate_of_another_person"
