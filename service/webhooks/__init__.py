"""Outgoing webhooks: partners' endpoints told of publications, updates and withdrawals.

Admins register endpoints (``service``); the dispatcher's ``webhooks`` handler turns each
brief event into one delivery row per endpoint it concerns (``fanout``), in the event's
transaction; the worker (``worker``) claims due deliveries under a short lease, signs them
per the Standard Webhooks specification (``signing``), posts them to public addresses only
(``transport``, ``addresses``) and writes each outcome under its lease (``queue``), retrying
with backoff and disabling an endpoint that has failed for three days (``disabling``).
See docs/webhooks.md.
"""
