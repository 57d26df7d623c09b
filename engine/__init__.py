"""vcase engine: persistence, the workflow runtime, timers, audit, permissions.

This package holds no knowledge of any particular process: those live in
``workflows/`` as declarative definitions. Importing ``engine`` is cheap; the
database layer is imported only by the modules that need it.
"""
