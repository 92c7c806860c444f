"""Fill `FinishedHandler` from the finished dossiers already there (issue #3).

One INSERT ... SELECT DISTINCT (the same statement on SQLite and PostgreSQL): one row per
(finished dossier, official who handled one of its step runs), with the dossier's end instant,
on-time result and organisation columns, exactly what `services._common.save` writes for a
dossier finished from now on. Reversed by emptying the table.
"""

from django.db import migrations

BACKFILL_SQL = """
INSERT INTO {summary} (
    dossier_id, handler_id, handling_organisation_id, receiving_organisation_id,
    current_unit_id, finished_at, timeliness
)
SELECT DISTINCT d.id, r.handler_id, d.handling_organisation_id, d.receiving_organisation_id,
    d.current_unit_id, d.finished_at, d.timeliness
FROM {dossier} d JOIN {steprun} r ON r.dossier_id = d.id
WHERE d.finished_at IS NOT NULL AND r.handler_id IS NOT NULL
"""


def backfill_sql(quote=lambda name: f'"{name}"') -> str:
    """The statement, with the table names quoted by `quote` (also used by the bench
    generator after its bulk load)."""
    return BACKFILL_SQL.format(
        summary=quote("dossiers_finishedhandler"),
        dossier=quote("dossiers_dossier"),
        steprun=quote("dossiers_steprun"),
    )


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(backfill_sql(schema_editor.connection.ops.quote_name))


def empty(apps, schema_editor):
    apps.get_model("dossiers", "FinishedHandler").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("dossiers", "0006_finished_handler"),
    ]

    operations = [
        migrations.RunPython(backfill, empty),
    ]
