"""Pages of the one-stop back office (issue #3). Thin: parse a form, call a service or a query,
render. Split by page family: `intake` (desk intake), `dossier` (the dossier page, its actions,
forms and the satisfaction kiosk), `lists` (queue, filtered list, supervision, register).

Anonymous visitors go to the login page; an official without the right gets 403; a dossier out
of one's scope is the Vietnamese 404 page (its existence is not revealed).
"""
