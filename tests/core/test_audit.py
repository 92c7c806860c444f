import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from chinhquyenso.core.models import AuditEntry
from chinhquyenso.core.services import audit


def _three_entries(actor, org):
    with transaction.atomic():
        for i in range(3):
            audit.record(
                action="test.thing", actor=actor, organisation=org, data={"i": i, "tên": "Đà Lạt"}
            )


def test_entries_chain_and_verify(db, responsible, commune_a):
    _three_entries(responsible, commune_a)
    entries = list(AuditEntry.objects.order_by("id"))
    assert entries[0].prev_hash == audit.GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    result = audit.verify()
    assert result.ok and result.checked == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_record_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit.record(action="test.thing")


def test_application_cannot_edit_or_delete_an_entry(db, responsible, commune_a):
    _three_entries(responsible, commune_a)
    entry = AuditEntry.objects.first()
    entry.action = "x"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()


def test_verify_finds_a_row_edited_in_the_database(db, responsible, commune_a):
    _three_entries(responsible, commune_a)
    middle = AuditEntry.objects.order_by("id")[1]
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {AuditEntry._meta.db_table} SET action = %s WHERE id = %s",
            ["test.forged", middle.id],
        )
    result = audit.verify()
    assert not result.ok
    assert result.broken_entry_id == middle.id
    with pytest.raises(CommandError, match=f"#{middle.id}"):
        call_command("audit", "verify")


def test_verify_finds_a_deleted_row_and_a_deleted_tail(db, responsible, commune_a):
    _three_entries(responsible, commune_a)
    first, middle, last = AuditEntry.objects.order_by("id")
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [middle.id])
    assert audit.verify().broken_entry_id == last.id
    with connection.cursor() as cur:
        cur.execute(f"DELETE FROM {AuditEntry._meta.db_table} WHERE id = %s", [last.id])
    result = audit.verify()
    assert not result.ok and "cuối chuỗi" in result.reason


def test_audit_verify_command_reports_success(db, responsible, commune_a, capsys):
    _three_entries(responsible, commune_a)
    call_command("audit", "verify")
    assert "3 bản ghi" in capsys.readouterr().out


def test_rolled_back_change_leaves_no_entry(db, responsible, commune_a):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        audit.record(action="test.thing", actor=responsible)
        raise Boom
    assert AuditEntry.objects.count() == 0
    assert audit.verify().ok
