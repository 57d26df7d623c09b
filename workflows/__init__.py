"""The process definitions, one module per process.

Each module exposes ``WORKFLOW`` (and, once a definition has changed, the old
versions in ``VERSIONS`` so running processes keep their rules). A module
reads like the program's rules: states, steps, who may act, timers, notices.
No I/O here; guards are pure functions of ``Facts``.
"""
