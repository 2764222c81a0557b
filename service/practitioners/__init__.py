"""Practitioners who sign in to read restricted learning online."""
