"""Reference data every installation needs: the audit chain head, the administrative units of
vietnam-provinces (34 provinces, 3,321 communes, data of 2025-10-18), default office hours."""

import datetime as dt

from django.db import migrations

GENESIS_HASH = "0" * 64
REFORM_DATE = dt.date(2025, 7, 1)


def forwards(apps, schema_editor):
    import vietnam_provinces as vp

    AuditChainHead = apps.get_model("core", "AuditChainHead")
    AdministrativeUnit = apps.get_model("core", "AdministrativeUnit")
    OfficeSession = apps.get_model("core", "OfficeSession")
    AuditChainHead.objects.get_or_create(id=1, defaults={"last_hash": GENESIS_HASH})

    source = f"vietnam-provinces {vp.__data_version__}"
    provinces = {}
    for p in vp.Province.iter_all():
        provinces[int(p.code)] = AdministrativeUnit(
            level="province",
            code=str(int(p.code)),
            name=p.name,
            division_type=p.division_type.value,
            valid_from=REFORM_DATE,
            source=source,
        )
    AdministrativeUnit.objects.bulk_create(provinces.values(), batch_size=500)
    saved = {int(u.code): u for u in AdministrativeUnit.objects.filter(level="province")}
    wards = [
        AdministrativeUnit(
            level="commune",
            code=str(int(w.code)),
            name=w.name,
            division_type=w.division_type.value,
            parent=saved[int(w.province_code)],
            valid_from=REFORM_DATE,
            source=source,
        )
        for w in vp.Ward.iter_all()
    ]
    AdministrativeUnit.objects.bulk_create(wards, batch_size=1000)

    # Common office hours of state agencies: Monday to Friday, 07:30–11:30 and 13:30–17:00.
    # Each organisation may define its own sessions (e.g. a Saturday morning at a centre).
    if not OfficeSession.objects.filter(organisation__isnull=True).exists():
        OfficeSession.objects.bulk_create(
            OfficeSession(weekday=day, start=start, end=end)
            for day in range(5)
            for start, end in ((dt.time(7, 30), dt.time(11, 30)), (dt.time(13, 30), dt.time(17, 0)))
        )


def backwards(apps, schema_editor):
    apps.get_model("core", "OfficeSession").objects.filter(organisation__isnull=True).delete()
    AdministrativeUnit = apps.get_model("core", "AdministrativeUnit")
    AdministrativeUnit.objects.filter(level="commune").delete()
    AdministrativeUnit.objects.filter(level="province").delete()
    apps.get_model("core", "AuditChainHead").objects.filter(id=1).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
