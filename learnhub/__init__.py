"""The composition root: where the domains and the web are put together into the service.

Nothing below imports from here except the handlers, which read what the application holds
through ``learnhub.keys``. The layers, enforced by import-linter (``make test``), run::

    learnhub (app, cli, events, schedule, requests)
      -> handlers -> learnhub.keys -> digests -> subscribers -> service
"""
