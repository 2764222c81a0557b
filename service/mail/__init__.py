"""Durable email: messages are rows first, rendered when queued, sent by a worker after commit.

``service.enqueue`` (inside the caller's transaction) turns an ``Outgoing`` into a
``mail_messages`` row; after the commit, ``app[mail_worker_key].wake()`` makes the worker look
at once (it also polls). ``MailWorker`` claims due rows, hands them to a ``Sender`` (SMTP, or a
Maildir without LEARNHUB_SMTP_URL) and records the outcome on the row. See
``templates/README.md`` for how to add a kind of email.
"""
