"""Permission actions of the one-stop back office (registered when the app is ready).

The role × organisation-subtree rule of `core.permissions` decides each action. Who may *see*
a dossier is wider than the handling organisation's subtree (the receiving desk, the units it
passes through, the organisation it is transferred to): `queries.dossiers_visible_to` is the one
place that rule lives. Who may act on a *step* is the step's role in the step's unit
(`services.routing`), on top of these actions.
"""

from __future__ import annotations

from chinhquyenso.core.models import Role
from chinhquyenso.core.permissions import OFFICIAL_ROLES, register_action

RECEIVE = "dossier.receive"
VIEW = "dossier.view"
HANDLE = "dossier.handle"
ASSIGN = "dossier.assign"
APPROVE = "dossier.approve"
RETURN = "dossier.return"
SUPERVISE = "dossier.supervise"

register_action(RECEIVE, {Role.DESK_OFFICER})
register_action(VIEW, OFFICIAL_ROLES)
register_action(HANDLE, {Role.SPECIALIST, Role.UNIT_HEAD, Role.UNIT_DEPUTY})
register_action(ASSIGN, {Role.UNIT_HEAD, Role.UNIT_DEPUTY, Role.LEADER})
register_action(APPROVE, {Role.LEADER, Role.UNIT_HEAD})
register_action(RETURN, {Role.DESK_OFFICER})
register_action(SUPERVISE, {Role.LEADER, Role.UNIT_HEAD, Role.UNIT_DEPUTY})
