"""What each process does, above the engine.

The engine (``engine/``) applies any event of any definition and knows no
process. Here are the operations that belong to one process or one part of
the agency's work: the letter bank (``letters``), custody and supervision
events and their fan-out (``case_events``), victim notification
(``notify_api``, ``registrations``, ``review`` of what the mass-change guard
held), and interest on file (``interest``). Each operation takes the
``engine.api.App`` and is one transaction. The engine never imports this
package (``tests/test_layers.py`` checks it).
"""
