"""Click command groups for ``vcase``, one module per noun.

Modules here import only click at load time; engine modules are imported
inside each command, so help stays instant. No business logic: each command
is one ``engine.api.App`` call and a print.
"""
