"""Who sees an applicant's personal data on a dossier: the identification number, phone, e-mail
and address, the scanned documents and the result file, and the printed forms that carry them.

Personal data is processed only by those whose task needs it (Decree 13/2023/NĐ-CP on personal
data protection, Art. 3: purpose limitation and minimisation). For a dossier that is:
- the desk of the receiving organisation (receive / return the result);
- whoever may act on the current step now, or is assigned to it, or handled a step before;
- the leaders and supervisors of the handling organisation, and the head of the unit the
  dossier is in now (who assigns it there);
- an API key of the receiving organisation's subtree (the desk's own systems, which send the
  data in the first place).
Everyone else who can see the dossier (a unit it passed through, the other side of a
transfer, an official of a parent organisation without a leader's role) sees the masked name
(`public.mask_name`) and none of the rest.

Reads only: one query at most for a whole list (the step runs the user handled).
"""

from __future__ import annotations

from collections.abc import Iterable

from chinhquyenso.core import permissions
from chinhquyenso.core.models import ApiKey
from chinhquyenso.dossiers.models import Dossier, StepRun
from chinhquyenso.dossiers.permissions import APPROVE, ASSIGN, RECEIVE, RETURN, SUPERVISE
from chinhquyenso.dossiers.public import mask_name
from chinhquyenso.dossiers.services import _common as c


def _acts_on_step(user, d: Dossier) -> bool:
    step = d.current_step
    if step is None:
        return False
    if d.current_handler_id is not None:
        return d.current_handler_id == user.pk
    # The step's unit is the dossier's current unit (read with the list); no query then.
    unit = d.current_unit if step.unit_id == d.current_unit_id else step.unit
    return unit is not None and c.holds_role(user, step.role, unit)


def _by_role(user, d: Dossier) -> bool:
    can = permissions.can
    receiving, handling, unit = d.receiving_organisation, d.handling_organisation, d.current_unit
    return (
        can(user, RECEIVE, receiving)
        or can(user, RETURN, receiving)
        or can(user, APPROVE, handling)
        or can(user, SUPERVISE, handling)
        or (unit is not None and (can(user, ASSIGN, unit) or can(user, APPROVE, unit)))
    )


def personal_data_visible(user, dossiers: Iterable[Dossier]) -> set[int]:
    """The ids of `dossiers` whose personal data `user` (a person or an API key) may see."""
    dossiers = list(dossiers)
    if not dossiers:
        return set()
    if isinstance(user, ApiKey):
        root = user.organisation.path
        return {d.pk for d in dossiers if d.receiving_organisation.path.startswith(root)}
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_superuser:
        return {d.pk for d in dossiers}
    if getattr(user, "is_applicant", False):
        return {d.pk for d in dossiers if d.applicant_id == user.pk}
    shown = {d.pk for d in dossiers if _acts_on_step(user, d) or _by_role(user, d)}
    rest = [d.pk for d in dossiers if d.pk not in shown]
    if rest:
        shown.update(
            StepRun.objects.filter(dossier_id__in=rest, handler=user).values_list(
                "dossier_id", flat=True
            )
        )
    return shown


def sees_personal_data(user, d: Dossier) -> bool:
    return d.pk in personal_data_visible(user, [d])


def shown_name(d: Dossier, visible: set[int]) -> str:
    """The applicant's name as `visible` (from personal_data_visible) allows: whole or masked."""
    return d.applicant_name if d.pk in visible else mask_name(d.applicant_name)
