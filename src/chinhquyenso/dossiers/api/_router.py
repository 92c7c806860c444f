"""The one router of the dossier API; `endpoints` and `actions` add their routes to it."""

from ninja import Router

router = Router(tags=["dossiers"])
