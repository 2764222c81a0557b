"""Practitioner groups: admins add members, members consent, a group has its own stream."""
