from chinhquyenso.core import permissions


def test_specialist_views_own_commune_but_not_another(responsible, commune_a, commune_b):
    assert permissions.can(
        responsible, "organisation.view", responsible.positions.get().organisation
    )
    assert not permissions.can(responsible, "organisation.view", commune_b)
    # A specialist's scope is its own unit, not the whole commune above it.
    assert not permissions.can(responsible, "organisation.view", commune_a)


def test_admin_scope_is_the_subtree(commune_admin, unit_a, commune_a, commune_b, province):
    assert permissions.can(commune_admin, "organisation.manage", unit_a)
    assert permissions.can(commune_admin, "organisation.manage", commune_a)
    assert not permissions.can(commune_admin, "organisation.manage", commune_b)
    assert not permissions.can(commune_admin, "organisation.manage", province)


def test_citizen_and_anonymous_have_no_official_permissions(citizen, anonymous, commune_a):
    for who in (citizen, anonymous):
        assert not permissions.can(who, "organisation.view", commune_a)
        assert not permissions.can(who, "calendar.manage")


def test_scope_query_lists_only_the_subtree(commune_admin, unit_a, commune_a, commune_b):
    names = set(
        permissions.organisations_for(commune_admin, "organisation.manage").values_list(
            "name", flat=True
        )
    )
    assert names == {commune_a.name, unit_a.name}


def test_ended_position_grants_nothing(commune_admin, commune_a):
    import datetime as dt

    pos = commune_admin.positions.get()
    pos.end_date = dt.date(2020, 1, 1)
    pos.start_date = dt.date(2019, 1, 1)
    pos.save()
    permissions.forget_positions(commune_admin)
    assert not permissions.can(commune_admin, "organisation.manage", commune_a)
