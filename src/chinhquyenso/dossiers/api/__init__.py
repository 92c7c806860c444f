"""The back-office dossier API under /api/v1/dossiers (thin: parse → service/query → schema).

* `POST /api/v1/dossiers`: desk intake (a desk officer's session, or an API key with scope
  "dossiers:write" over the receiving organisation).
* `GET /api/v1/dossiers?queue=to_handle|due_soon|late|waiting_others` or with the filters of
  `queries.filter_q` (the supervision page's click-through); paginated with limit/offset.
* `GET /api/v1/dossiers/{code}`: one dossier with its history, step runs (Form 05), pauses,
  documents and inter-agency parts. Out of the caller's scope: 404 `dossier_not_found`.
* `POST /api/v1/dossiers/{code}/actions/{action}`: one endpoint per transition, each with a
  JSON body carrying `expected_revision` (409 `dossier_changed` when someone else changed the
  dossier since).
* `GET /api/v1/dossiers/supervision?organisation=...`: the leader's figures.

Errors: `{"code", "message", "details"}` (one shape for the whole API).
"""

from chinhquyenso.dossiers.api import actions, endpoints  # noqa: F401  (register the routes)
from chinhquyenso.dossiers.api._router import router

__all__ = ["router"]
