"""The one-stop back office: the dossier lifecycle (một cửa điện tử)."""
