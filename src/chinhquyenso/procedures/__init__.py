"""Catalogue of administrative procedures (thủ tục hành chính) and their internal processes."""
