"""Chính quyền số: one Django project for the digital work of a Vietnamese local government."""

__version__ = "0.1.0"
