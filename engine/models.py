"""The tables. Invariants the database can hold, it holds.

Every row that records a moment stores aware UTC. Contact details and names of
parties are stored encrypted (``*_enc`` columns, see ``engine.crypto``).
The schema itself is created by the Alembic migrations in
``engine/migrations``.

No ``from __future__ import annotations`` here: with it every field's type is a
string that pydantic and SQLAlchemy each evaluate again for every table class,
which was a sixth of this module's import time, paid by every command (issue 19).
"""


from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    UniqueConstraint,
)
from pydantic import ConfigDict
from sqlmodel import Field
from sqlmodel import SQLModel as _SQLModel

# The schema's words, declared without the ORM (re-exported: callers import them from here too).
from engine.vocabulary import (  # noqa: F401
    AUDIENCES, CASE_CONTACT_ROLES, CHANNELS, DELIVERED_STATUSES, LANGUAGES, MAIL_BATCH_STATUSES, MAIL_STATUSES,
    NOTICE_STATUSES, PARTNER_MODELS, PARTNER_SECTORS, PARTNER_SERVICES, PARTY_KINDS, ROLES, SERVICE_ITEMS,
    TIMER_STATUSES, VICTIM_SIDE_KINDS,
)


class SQLModel(_SQLModel):
    # Table models are filled by the ORM and by the engine, never validated from outside input, so
    # pydantic's schema for them is built only if something asks for it (it costs ~60 ms at start-up).
    model_config = ConfigDict(defer_build=True)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _sql_list(values: tuple[str, ...]) -> str:
    return f"({', '.join(repr(v) for v in values)})"


MAIL_STATES_SQL = _sql_list(MAIL_STATUSES)
PRINTED_STATES_SQL = _sql_list(("printed", "mailed", "delivered", "returned"))


def _utc() -> Column:
    return Column(DateTime(timezone=True), nullable=False)


def _utc_nullable() -> Column:
    return Column(DateTime(timezone=True), nullable=True)


class Meta(SQLModel, table=True):
    """Small key/value facts about this database (the key check value)."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str


class Setting(SQLModel, table=True):
    """Agency policy overrides; defaults are declared by the workflows."""

    __tablename__ = "setting"
    key: str = Field(primary_key=True, max_length=128)
    value: str


class Staff(SQLModel, table=True):
    __tablename__ = "staff"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="staff_role_known"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=200)
    role: str = Field(max_length=32)
    email: Optional[str] = Field(default=None, max_length=320)
    active: bool = True
    created_at: datetime = Field(sa_column=_utc())
    # A member of a community partner's staff (a hybrid or community-based advocate), not the agency's:
    # they may read and act only within what that partner's active agreement grants.
    partner_id: Optional[int] = Field(default=None, foreign_key="partner.id")


class Partner(SQLModel, table=True):
    """A community partner in the agency's directory: an organization, not a person on a case."""

    __tablename__ = "partner"
    __table_args__ = (
        CheckConstraint(_in("model", PARTNER_MODELS), name="partner_model_known"),
        CheckConstraint(_in("sector", PARTNER_SECTORS), name="partner_sector_known"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    model: str = Field(max_length=16)
    sector: str = Field(max_length=32)
    services: str = Field(default="", max_length=300)  # comma-separated PARTNER_SERVICES
    languages: str = Field(default="en", max_length=100)  # comma-separated language codes
    service_area: str = Field(default="", max_length=300)
    hours: str = Field(default="", max_length=200)
    hotline_24_7: bool = False
    hotline_phone: Optional[str] = Field(default=None, max_length=40)
    privileged: bool = False  # its communications with victims are privileged (often community-based)
    referral_method: str = Field(default="", max_length=300)  # how it takes referrals, in its own words
    referral_email: Optional[str] = Field(default=None, max_length=320)  # where referral notices go
    retired_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    created_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class PartnerContact(SQLModel, table=True):
    """A named contact at a partner; ``escalation_order`` ranks who is called first when it matters."""

    __tablename__ = "partner_contact"
    id: Optional[int] = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str = Field(max_length=200)
    role: str = Field(default="", max_length=100)
    email: Optional[str] = Field(default=None, max_length=320)
    phone: Optional[str] = Field(default=None, max_length=40)
    escalation_order: Optional[int] = None
    active: bool = True


class CaseContact(SQLModel, table=True):
    """A partner contact designated to act for a case (law enforcement, the prosecutor), ranked by
    ``position``: the escalation list an urgent report goes down (migration 0007)."""

    __tablename__ = "case_contact"
    __table_args__ = (
        CheckConstraint(_in("role", CASE_CONTACT_ROLES), name="case_contact_role_known"),
        CheckConstraint("position >= 1", name="case_contact_position_positive"),
        UniqueConstraint("case_id", "role", "position", name="case_contact_one_per_position"),
        UniqueConstraint("case_id", "role", "contact_id", name="case_contact_once_per_role"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    contact_id: int = Field(foreign_key="partner_contact.id")
    role: str = Field(max_length=24)
    position: int
    designated_by: str = Field(max_length=64)
    designated_at: datetime = Field(sa_column=_utc())


class Case(SQLModel, table=True):
    __tablename__ = "case_file"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_number: str = Field(max_length=64, unique=True)
    supervised_person: str = Field(max_length=200)
    officer_id: int = Field(foreign_key="staff.id")
    time_zone: str = Field(max_length=64)
    ipv: bool = False
    misconduct_toward_victim: bool = False
    supervision_ends_on: Optional[date] = None
    created_at: datetime = Field(sa_column=_utc())


class ProtectiveOrder(SQLModel, table=True):
    """A protective or no-contact order; active on days ``starts_on..ends_on``."""

    __tablename__ = "protective_order"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="order_dates_ordered"),
        CheckConstraint(_in("kind", ("protective", "no_contact")), name="order_kind_known"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    kind: str = Field(max_length=16)
    starts_on: date
    ends_on: Optional[date] = None


class Party(SQLModel, table=True):
    """A person on a case. ``side`` is derived from ``kind`` and checked by the
    schema, so that processes can reference (id, side) with a foreign key."""

    __tablename__ = "party"
    __table_args__ = (
        CheckConstraint(_in("kind", PARTY_KINDS), name="party_kind_known"),
        CheckConstraint(
            f"(side = 'victim' AND {_in('kind', VICTIM_SIDE_KINDS)}) OR "
            "(side = 'offender' AND kind = 'supervised_person')",
            name="party_side_matches_kind",
        ),
        CheckConstraint(_in("language", LANGUAGES), name="party_language_known"),
        CheckConstraint(
            "kind NOT IN ('guardian', 'next_of_kin') OR represents_id IS NOT NULL",
            name="representative_names_whom",
        ),
        UniqueConstraint("id", "side", name="party_id_side"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    kind: str = Field(max_length=24)
    side: str = Field(max_length=8)
    represents_id: Optional[int] = Field(default=None, foreign_key="party.id")
    is_minor: bool = False
    is_deceased: bool = False
    name_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    email_enc: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary))
    phone_enc: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary))
    address_enc: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary))
    channels: str = Field(default="", max_length=64)
    language: str = Field(default="en", max_length=8)
    time_zone: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=_utc())
    # A keyed HMAC of the phone number's digits (``Vault.blind_index``): finds the party a text came
    # from without a plain-text number anywhere. NULL for no phone (or a row from before it).
    phone_index: Optional[str] = Field(default=None, max_length=64, index=True)


class WorkflowPin(SQLModel, table=True):
    """The fingerprint of each definition version a process ever started on.

    A definition edited without a version bump no longer matches, and the
    engine refuses to run it rather than silently rewrite running processes.
    """

    __tablename__ = "workflow_pin"
    workflow: str = Field(primary_key=True, max_length=64)
    version: int = Field(primary_key=True)
    fingerprint: str = Field(max_length=64)


class Process(SQLModel, table=True):
    __tablename__ = "process"
    __table_args__ = (
        ForeignKeyConstraint(
            ["initiator_party_id", "initiator_side"], ["party.id", "party.side"], name="process_initiator_party"
        ),
        CheckConstraint(
            # NULLs spelled out: a CHECK passes on NULL, and the composite FK is skipped when a column is NULL
            "NOT victim_initiated OR (initiator_side IS NOT NULL AND initiator_side = 'victim' "
            "AND initiator_party_id IS NOT NULL)",
            name="victim_process_started_by_victim_side",
        ),
        CheckConstraint(
            "(state = 'paused') = (paused_from IS NOT NULL)", name="paused_remembers_where_from"
        ),
        CheckConstraint("version >= 1", name="process_version_positive"),
        # An agency-level process (a formal agreement) is the only kind without a case (migration 0006).
        CheckConstraint("(case_id IS NULL) = agency_level", name="process_case_unless_agency_level"),
        Index("process_case", "case_id", "workflow"),
        # Processes of a kind started in a period, and for whom (a funder's report; migration 0008). The
        # columns never change once written: the index costs one entry per process, never one per step.
        Index("process_workflow_started", "workflow", "started_at", "initiator_party_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="case_file.id")
    agency_level: bool = False
    workflow: str = Field(max_length=64)
    workflow_version: int
    state: str = Field(max_length=64)
    paused_from: Optional[str] = Field(default=None, max_length=64)
    version: int = 1
    victim_initiated: bool
    initiator_party_id: Optional[int] = None
    initiator_side: Optional[str] = Field(default=None, max_length=8)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    terminal: bool = False
    started_at: datetime = Field(sa_column=_utc())
    updated_at: datetime = Field(sa_column=_utc())


class Timer(SQLModel, table=True):
    """A durable timed step. This table is the truth; the scheduler only
    asks it what is due."""

    __tablename__ = "timer"
    __table_args__ = (
        CheckConstraint(_in("status", TIMER_STATUSES), name="timer_status_known"),
        CheckConstraint("(status = 'frozen') = (remaining_seconds IS NOT NULL)", name="frozen_keeps_remaining"),
        CheckConstraint("status <> 'fired' OR fired_at IS NOT NULL", name="fired_has_time"),
        Index("timer_due", "status", "due_at"),
        Index("timer_process_status", "process_id", "status"),  # a process's live timers (migration 0003)
        # One live timer per name: the partial unique index ``timer_one_live_per_name`` on
        # (process_id, name) WHERE status IN ('pending', 'frozen') is made by migration 0001, the
        # only way the schema is created. Declared here, its dialect arguments would load the
        # PostgreSQL dialect at every start, SQLite too (~25 ms of each command).
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id")
    name: str = Field(max_length=64)
    event: str = Field(max_length=64)
    due_at: datetime = Field(sa_column=_utc())
    status: str = Field(default="pending", max_length=16)
    remaining_seconds: Optional[float] = None
    created_at: datetime = Field(sa_column=_utc())
    fired_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    note: Optional[str] = None
    case_event_id: Optional[int] = Field(default=None, foreign_key="case_event.id", index=True)


CASE_EVENT_STATUSES = ("recorded", "corrected", "cancelled")
CASE_EVENT_REVIEWS = ("held", "released", "discarded")  # the mass-change guard's review of one event


class CaseEvent(SQLModel, table=True):
    """A custody or supervision event on a case (release, escape, hearing...).

    Notices about it link here, so a correction reaches everyone who got the
    original. A correction is a new row pointing at the one it replaces.
    """

    __tablename__ = "case_event"
    __table_args__ = (
        CheckConstraint(_in("status", CASE_EVENT_STATUSES), name="case_event_status_known"),
        CheckConstraint(f"review IS NULL OR {_in('review', CASE_EVENT_REVIEWS)}", name="case_event_review_known"),
        Index("case_event_case", "case_id", "at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id")
    type: str = Field(max_length=48)
    at: datetime = Field(sa_column=_utc())
    details: str = Field(default="", max_length=2000)
    status: str = Field(default="recorded", max_length=16)
    corrects_id: Optional[int] = Field(default=None, foreign_key="case_event.id")
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_column=_utc())
    # Held by the mass-change guard: its notices, and those of the timers it armed, wait for review.
    review: Optional[str] = Field(default=None, max_length=16)


class Worker(SQLModel, table=True):
    """A scheduler daemon's heartbeat: which workers are alive, and since when."""

    __tablename__ = "worker"
    id: str = Field(primary_key=True, max_length=128)
    host: str = Field(max_length=128)
    pid: int
    started_at: datetime = Field(sa_column=_utc())
    last_seen: datetime = Field(sa_column=_utc())
    status: str = Field(default="running", max_length=16)
    fired: int = 0
    delivered: int = 0


class Notice(SQLModel, table=True):
    """The outbox: a notice queued in the same transaction as its cause."""

    __tablename__ = "notice"
    __table_args__ = (
        CheckConstraint(_in("status", NOTICE_STATUSES), name="notice_status_known"),
        CheckConstraint(_in("channel", CHANNELS), name="notice_channel_known"),
        CheckConstraint(_in("audience", AUDIENCES), name="notice_audience_known"),
        CheckConstraint(
            "(CASE WHEN recipient_party_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN recipient_staff_id IS NULL "
            "THEN 0 ELSE 1 END) + (CASE WHEN recipient_contact_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="notice_has_one_recipient",
        ),
        CheckConstraint(
            "status NOT IN ('failed', 'cancelled', 'held', 'returned') OR status_reason IS NOT NULL",
            name="notice_end_has_reason",
        ),
        Index("notice_due", "status", "not_before"),
        # Notices of custody and supervision events delivered to victim-side parties, by when (the
        # services log's automatic E1 entries): the partial index ``notice_event_delivered`` on
        # (sent_at, recipient_party_id, status) WHERE audience = 'victim' AND case_event_id IS NOT NULL
        # AND sent_at IS NOT NULL, made by migration 0008 only. Declared here, its dialect arguments
        # would load the PostgreSQL dialect at every start, SQLite too (~50 ms of each command).
        # A notice belongs to a case, or to an agency-level process (migration 0006).
        CheckConstraint("case_id IS NOT NULL OR process_id IS NOT NULL", name="notice_case_or_process"),
        # The mail room's states (migration 0009): letters only, each with its opaque reference; from
        # printing on, the batch it was printed in; a tracking number only once it was handed over.
        CheckConstraint(f"status NOT IN {MAIL_STATES_SQL} OR (channel = 'letter' AND letter_ref IS NOT NULL)",
                        name="notice_mail_states_are_letters"),
        CheckConstraint(f"status NOT IN {PRINTED_STATES_SQL} OR mail_batch_id IS NOT NULL",
                        name="notice_printed_has_batch"),
        CheckConstraint("tracking_enc IS NULL OR status IN ('mailed', 'delivered', 'returned')",
                        name="notice_tracking_once_mailed"),
        CheckConstraint("(status = 'returned') = (returned_at IS NOT NULL)", name="notice_returned_has_time"),
        UniqueConstraint("letter_ref", name="notice_letter_ref_once"),
        Index("notice_mail_batch", "mail_batch_id"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    case_id: Optional[int] = Field(default=None, foreign_key="case_file.id", index=True)
    process_id: Optional[int] = Field(default=None, foreign_key="process.id", index=True)
    recipient_party_id: Optional[int] = Field(default=None, foreign_key="party.id")
    recipient_staff_id: Optional[int] = Field(default=None, foreign_key="staff.id")
    recipient_contact_id: Optional[int] = Field(default=None, foreign_key="partner_contact.id")  # a partner's
    audience: str = Field(max_length=16)
    template: str = Field(max_length=200)
    language: str = Field(max_length=8)
    channel: str = Field(max_length=16)
    emergency: bool = False
    survives_withdrawal: bool = False
    through_pause: bool = False  # goes out although its process is paused (an emergency the registrant chose)
    status: str = Field(default="queued", max_length=16)
    status_reason: Optional[str] = None
    subject_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    body_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The first rendering's inputs (encrypted JSON), so a fallback on another channel says the same.
    context_enc: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    not_before: datetime = Field(sa_column=_utc())
    created_at: datetime = Field(sa_column=_utc())
    attempts: int = 0
    sent_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    case_event_id: Optional[int] = Field(default=None, foreign_key="case_event.id", index=True)
    message_id: Optional[str] = Field(default=None, max_length=200)
    confirmed_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    fallback_of: Optional[int] = Field(default=None, foreign_key="notice.id")
    claimed_by: Optional[str] = Field(default=None, max_length=128)
    # The mail room (migration 0009). ``letter_ref`` is the opaque reference printed on the letter (it
    # says nothing of the case); ``certified``: to go by certified mail; ``tracking_enc``: the
    # certified-mail tracking number, encrypted (the carrier's tracking page shows where it went).
    letter_ref: Optional[str] = Field(default=None, max_length=16)
    certified: bool = False
    mail_batch_id: Optional[int] = Field(default=None, foreign_key="mail_batch.id")
    pages: Optional[int] = None
    tracking_enc: Optional[bytes] = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    returned_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())


class MailBatch(SQLModel, table=True):
    """One print run of the mail room: the letters of a day, printed as one PDF with its manifest,
    then handed to the post office. Its files are removed after ``mailroom.batch_retention_days``;
    the row, and each letter's state, stay as the proof."""

    __tablename__ = "mail_batch"
    __table_args__ = (
        CheckConstraint(_in("status", MAIL_BATCH_STATUSES), name="mail_batch_status_known"),
        CheckConstraint("(status = 'mailed') = (mailed_at IS NOT NULL AND mailed_by IS NOT NULL)",
                        name="mail_batch_mailed_has_who_and_when"),
        CheckConstraint("letters >= 1 AND pages >= letters", name="mail_batch_counts"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    day: date  # the agency's day (agency.time_zone) whose letters it holds, with any left from before
    status: str = Field(default="printed", max_length=16)
    letters: int
    pages: int
    presorted: bool = False
    folder: str = Field(max_length=200)  # relative to the outbox; names no one
    created_at: datetime = Field(sa_column=_utc())
    created_by: str = Field(max_length=64)
    mailed_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    mailed_by: Optional[str] = Field(default=None, max_length=64)
    files_removed_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())


class AuditEntry(SQLModel, table=True):
    """Append-only and hash-chained per stream (one stream per case, plus
    ``system``): each entry's hash covers its content and the previous hash."""

    __tablename__ = "audit_entry"
    __table_args__ = (UniqueConstraint("stream", "seq", name="audit_stream_seq"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    stream: str = Field(max_length=64)
    seq: int
    at: datetime = Field(sa_column=_utc())
    actor_login: str = Field(max_length=64)
    actor_role: str = Field(max_length=32)
    on_behalf_of: Optional[int] = None
    via: Optional[str] = Field(default=None, max_length=32)
    case_id: Optional[int] = Field(default=None, index=True)
    process_id: Optional[int] = Field(default=None, index=True)
    action: str = Field(max_length=64)
    from_state: Optional[str] = Field(default=None, max_length=64)
    to_state: Optional[str] = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditStream(SQLModel, table=True):
    """The head of each audit chain: guarded updates keep appends serial per
    stream and make a truncated tail detectable."""

    __tablename__ = "audit_stream"
    stream: str = Field(primary_key=True, max_length=64)
    seq: int
    head_hash: str = Field(max_length=64)


class ConfidentialityExplained(SQLModel, table=True):
    """That a victim-side party was told what can and cannot stay confidential (seed 000), by whom,
    when and how."""

    __tablename__ = "confidentiality_explained"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    party_id: int = Field(foreign_key="party.id", index=True)
    explained_by: str = Field(max_length=64)
    method: str = Field(max_length=32)
    explained_at: datetime = Field(sa_column=_utc())


class Interest(SQLModel, table=True):
    """A request for a process from someone who may not start it (the person
    under supervision asking for a dialogue): kept on file, starts nothing,
    and shown only to victim-services roles."""

    __tablename__ = "interest"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    workflow: str = Field(max_length=64)
    party_id: int = Field(foreign_key="party.id")
    recorded_by: str = Field(max_length=64)
    via: Optional[str] = Field(default=None, max_length=32)
    recorded_at: datetime = Field(sa_column=_utc())


class Document(SQLModel, table=True):
    """Encrypted text attached to a process (a letter and each revision of it).

    Versions are kept, never overwritten; every read of the text is audited
    by ``engine.documents``.
    """

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("process_id", "kind", "version", name="document_version_once"),
        CheckConstraint("version >= 1", name="document_version_positive"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id", index=True)
    kind: str = Field(max_length=32)
    version: int
    body_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    size: int
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=_utc())


class AccessGrant(SQLModel, table=True):
    """What a process in force (a partner agreement) lets a partner's staff do: the workflows they
    may read and act in and the permission keys they may use, from ``starts_at`` until ``until``
    (the end of its term) or until it is ended (expired, terminated). Written and ended only by the
    engine, in the transaction that moves the process (``engine.grants``)."""

    __tablename__ = "access_grant"
    __table_args__ = (
        CheckConstraint("ended_at IS NULL OR ended_reason IS NOT NULL", name="grant_end_has_reason"),
        CheckConstraint("until IS NULL OR until > starts_at", name="grant_until_after_start"),
        Index("access_grant_partner", "partner_id", "ended_at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    process_id: int = Field(foreign_key="process.id", index=True)
    partner_id: int = Field(foreign_key="partner.id")
    workflows: str = Field(default="", max_length=300)  # comma-separated workflow names
    permissions: str = Field(default="", max_length=600)  # comma-separated permission keys
    starts_at: datetime = Field(sa_column=_utc())
    until: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    ended_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    ended_reason: Optional[str] = Field(default=None, max_length=200)


class ServiceEntry(SQLModel, table=True):
    """A service staff gave a victim-side party (or an anonymous contact), by the PMT's item code
    (``services.pmt_catalog``). Services vcase itself gives (a notice delivered, a referral made) are
    not copied here: they are read from where they happened (``services.service_log``).

    No victim data: the party is a reference, the item a code. Items given in one contact share
    ``contact`` (an anonymous contact is counted once, however many items it had)."""

    __tablename__ = "service_entry"
    __table_args__ = (
        CheckConstraint(_in("item", SERVICE_ITEMS), name="service_entry_item_known"),
        CheckConstraint("(party_id IS NULL) = anonymous", name="service_entry_party_unless_anonymous"),
        CheckConstraint("(case_id IS NULL) = (party_id IS NULL)", name="service_entry_case_with_party"),
        Index("service_entry_at", "at"),
        Index("service_entry_party", "party_id", "at"),
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: Optional[int] = Field(default=None, foreign_key="case_file.id")
    party_id: Optional[int] = Field(default=None, foreign_key="party.id")
    anonymous: bool = False
    item: str = Field(max_length=8)
    at: datetime = Field(sa_column=_utc())
    contact: str = Field(max_length=32)
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = Field(sa_column=_utc())


class PartyProfile(SQLModel, table=True):
    """What a victim-side party chose to say about themselves for the funder's report (victimization
    types, special classifications, race/ethnicity, gender, age band): self-reported, optional, and
    encrypted at rest as one JSON document (``engine.crypto``)."""

    __tablename__ = "party_profile"
    party_id: int = Field(primary_key=True, foreign_key="party.id")
    profile_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_by: str = Field(max_length=64)
    updated_at: datetime = Field(sa_column=_utc())


class PortalAccess(SQLModel, table=True):
    """A victim-side party's door to the portal (issue 17): a random access ID, a one-time code that
    expires (its Argon2id hash only), then the PIN or passphrase the party set (its Argon2id hash
    only). Failed sign-ins count up and lock it for a while; staff revoke it at once."""

    __tablename__ = "portal_access"
    id: Optional[int] = Field(default=None, primary_key=True)
    party_id: int = Field(foreign_key="party.id", unique=True)
    access_id: str = Field(max_length=32, unique=True)
    code_hash: Optional[str] = Field(default=None, max_length=200)
    code_expires_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    pin_hash: Optional[str] = Field(default=None, max_length=200)
    failures: int = 0
    locked_until: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    revoked_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    issued_by: str = Field(max_length=64)
    issued_at: datetime = Field(sa_column=_utc())
    last_sign_in: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())


class PortalSession(SQLModel, table=True):
    """A signed-in browser: the SHA-256 of its random cookie token (never the token), ended on sign-out,
    revocation or 15 idle minutes."""

    __tablename__ = "portal_session"
    id: Optional[int] = Field(default=None, primary_key=True)
    access_id: int = Field(foreign_key="portal_access.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    must_set_pin: bool = False
    created_at: datetime = Field(sa_column=_utc())
    last_seen: datetime = Field(sa_column=_utc())
    ended_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())


class ConfirmToken(SQLModel, table=True):
    """A way to confirm one notice without signing in: a link's random token or a text's short code
    (``kind``), stored as a keyed hash, single-use, expiring."""

    __tablename__ = "confirm_token"
    __table_args__ = (CheckConstraint(_in("kind", ("link", "code")), name="confirm_token_kind_known"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    kind: str = Field(max_length=8)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = Field(sa_column=_utc())
    used_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
    created_at: datetime = Field(sa_column=_utc())


class ContactRequest(SQLModel, table=True):
    """A victim asked, through the portal, for an advocate to contact them: who and when, nothing said."""

    __tablename__ = "contact_request"
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id")
    party_id: int = Field(foreign_key="party.id", index=True)
    asked_at: datetime = Field(sa_column=_utc())
    handled_by: Optional[str] = Field(default=None, max_length=64)
    handled_at: Optional[datetime] = Field(default=None, sa_column=_utc_nullable())
