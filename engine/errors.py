"""One root exception for everything the engine refuses.

Each subclass carries the data a caller needs; ``str(error)`` is a sentence a
person can act on. The CLI maps ``VcaseError`` to exit 1 and prints the
message on one line; nothing here imports click.
"""


class VcaseError(Exception):
    """Root of every error the engine raises on purpose."""


class NotFound(VcaseError):
    """An id, case number, login or name that does not exist."""


class InvalidInput(VcaseError):
    """A value that is malformed: a date, a time zone, an empty reason."""


class NotPermitted(VcaseError):
    """The actor's role or the side they act for may not do this."""


class Hidden(NotFound, NotPermitted):
    """A record the actor may not know exists, refused in the same words as a missing one."""


class NotAllowed(VcaseError):
    """The event does not apply in the process's current state, or a guard refused it."""

    def __init__(self, message: str, *, event: str = "", state: str = ""):
        super().__init__(message)
        self.event = event
        self.state = state


class Conflict(VcaseError):
    """Someone else changed the same record first; nothing was written."""


class Transient(Conflict):
    """The database gave up on a transaction because of another one at the same moment (a
    serialization failure or a deadlock): nobody's fault, and trying again may well succeed."""


class Busy(VcaseError):
    """The database stayed locked by another writer past the busy timeout."""


class SchemaError(VcaseError):
    """The database has no schema, or an older one: run ``vcase init``."""


class EncryptionKeyError(VcaseError):
    """The encryption key is missing or is not the key this database uses."""


class DefinitionError(VcaseError):
    """A workflow definition breaks a load rule; the message names the rule."""

    def __init__(self, workflow: str, rule: str, detail: str):
        super().__init__(f"workflow {workflow!r} breaks rule '{rule}': {detail}")
        self.workflow = workflow
        self.rule = rule
        self.detail = detail


class RenderError(VcaseError):
    """A notice template could not be rendered (missing or empty variable, bad template)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field  # the empty value a template printed, if that was the cause
