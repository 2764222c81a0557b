"""Feeds of briefs: RSS 2.0 and Atom documents, and the in-process cache of their bytes."""
