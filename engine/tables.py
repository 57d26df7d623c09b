"""The schema's tables as SQLAlchemy Core, for read paths that need no ORM.

Written by ``tools/make_tables.py`` from ``engine/models.py`` (the schema's one
declaration; the migrations create it): columns, types, nullability and
primary keys only. Do not edit; run ``python tools/make_tables.py`` after
changing the models (``tests/test_tables.py`` checks the two agree).
"""

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

access_grant = Table(
    'access_grant', metadata,
    Column('id', Integer(), primary_key=True),
    Column('process_id', Integer(), nullable=False),
    Column('partner_id', Integer(), nullable=False),
    Column('workflows', String(300), nullable=False),
    Column('permissions', String(600), nullable=False),
    Column('starts_at', DateTime(timezone=True), nullable=False),
    Column('until', DateTime(timezone=True)),
    Column('ended_at', DateTime(timezone=True)),
    Column('ended_reason', String(200)),
)

audit_entry = Table(
    'audit_entry', metadata,
    Column('id', Integer(), primary_key=True),
    Column('stream', String(64), nullable=False),
    Column('seq', Integer(), nullable=False),
    Column('at', DateTime(timezone=True), nullable=False),
    Column('actor_login', String(64), nullable=False),
    Column('actor_role', String(32), nullable=False),
    Column('on_behalf_of', Integer()),
    Column('via', String(32)),
    Column('case_id', Integer()),
    Column('process_id', Integer()),
    Column('action', String(64), nullable=False),
    Column('from_state', String(64)),
    Column('to_state', String(64)),
    Column('detail', JSON(), nullable=False),
    Column('prev_hash', String(64), nullable=False),
    Column('hash', String(64), nullable=False),
)

audit_stream = Table(
    'audit_stream', metadata,
    Column('stream', String(64), primary_key=True),
    Column('seq', Integer(), nullable=False),
    Column('head_hash', String(64), nullable=False),
)

case_contact = Table(
    'case_contact', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('contact_id', Integer(), nullable=False),
    Column('role', String(24), nullable=False),
    Column('position', Integer(), nullable=False),
    Column('designated_by', String(64), nullable=False),
    Column('designated_at', DateTime(timezone=True), nullable=False),
)

case_event = Table(
    'case_event', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('type', String(48), nullable=False),
    Column('at', DateTime(timezone=True), nullable=False),
    Column('details', String(2000), nullable=False),
    Column('status', String(16), nullable=False),
    Column('corrects_id', Integer()),
    Column('recorded_by', String(64), nullable=False),
    Column('recorded_at', DateTime(timezone=True), nullable=False),
    Column('review', String(16)),
)

case_file = Table(
    'case_file', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_number', String(64), nullable=False),
    Column('supervised_person', String(200), nullable=False),
    Column('officer_id', Integer(), nullable=False),
    Column('time_zone', String(64), nullable=False),
    Column('ipv', Boolean(), nullable=False),
    Column('misconduct_toward_victim', Boolean(), nullable=False),
    Column('supervision_ends_on', Date()),
    Column('created_at', DateTime(timezone=True), nullable=False),
)

confidentiality_explained = Table(
    'confidentiality_explained', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('party_id', Integer(), nullable=False),
    Column('explained_by', String(64), nullable=False),
    Column('method', String(32), nullable=False),
    Column('explained_at', DateTime(timezone=True), nullable=False),
)

confirm_token = Table(
    'confirm_token', metadata,
    Column('id', Integer(), primary_key=True),
    Column('notice_id', Integer(), nullable=False),
    Column('kind', String(8), nullable=False),
    Column('token_hash', String(64), nullable=False),
    Column('expires_at', DateTime(timezone=True), nullable=False),
    Column('used_at', DateTime(timezone=True)),
    Column('created_at', DateTime(timezone=True), nullable=False),
)

contact_request = Table(
    'contact_request', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('party_id', Integer(), nullable=False),
    Column('asked_at', DateTime(timezone=True), nullable=False),
    Column('handled_by', String(64)),
    Column('handled_at', DateTime(timezone=True)),
)

document = Table(
    'document', metadata,
    Column('id', Integer(), primary_key=True),
    Column('process_id', Integer(), nullable=False),
    Column('kind', String(32), nullable=False),
    Column('version', Integer(), nullable=False),
    Column('body_enc', LargeBinary(), nullable=False),
    Column('size', Integer(), nullable=False),
    Column('created_by', String(64), nullable=False),
    Column('created_at', DateTime(timezone=True), nullable=False),
)

interest = Table(
    'interest', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('workflow', String(64), nullable=False),
    Column('party_id', Integer(), nullable=False),
    Column('recorded_by', String(64), nullable=False),
    Column('via', String(32)),
    Column('recorded_at', DateTime(timezone=True), nullable=False),
)

mail_batch = Table(
    'mail_batch', metadata,
    Column('id', Integer(), primary_key=True),
    Column('day', Date(), nullable=False),
    Column('status', String(16), nullable=False),
    Column('letters', Integer(), nullable=False),
    Column('pages', Integer(), nullable=False),
    Column('presorted', Boolean(), nullable=False),
    Column('folder', String(200), nullable=False),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('created_by', String(64), nullable=False),
    Column('mailed_at', DateTime(timezone=True)),
    Column('mailed_by', String(64)),
    Column('files_removed_at', DateTime(timezone=True)),
)

meta = Table(
    'meta', metadata,
    Column('key', String(64), primary_key=True),
    Column('value', String(), nullable=False),
)

notice = Table(
    'notice', metadata,
    Column('id', Integer(), primary_key=True),
    Column('idempotency_key', String(200), nullable=False),
    Column('case_id', Integer()),
    Column('process_id', Integer()),
    Column('recipient_party_id', Integer()),
    Column('recipient_staff_id', Integer()),
    Column('recipient_contact_id', Integer()),
    Column('audience', String(16), nullable=False),
    Column('template', String(200), nullable=False),
    Column('language', String(8), nullable=False),
    Column('channel', String(16), nullable=False),
    Column('emergency', Boolean(), nullable=False),
    Column('survives_withdrawal', Boolean(), nullable=False),
    Column('through_pause', Boolean(), nullable=False),
    Column('status', String(16), nullable=False),
    Column('status_reason', String()),
    Column('subject_enc', LargeBinary(), nullable=False),
    Column('body_enc', LargeBinary(), nullable=False),
    Column('context_enc', LargeBinary()),
    Column('not_before', DateTime(timezone=True), nullable=False),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('attempts', Integer(), nullable=False),
    Column('sent_at', DateTime(timezone=True)),
    Column('case_event_id', Integer()),
    Column('message_id', String(200)),
    Column('confirmed_at', DateTime(timezone=True)),
    Column('fallback_of', Integer()),
    Column('claimed_by', String(128)),
    Column('letter_ref', String(16)),
    Column('certified', Boolean(), nullable=False),
    Column('mail_batch_id', Integer()),
    Column('pages', Integer()),
    Column('tracking_enc', LargeBinary()),
    Column('returned_at', DateTime(timezone=True)),
)

partner = Table(
    'partner', metadata,
    Column('id', Integer(), primary_key=True),
    Column('name', String(200), nullable=False),
    Column('model', String(16), nullable=False),
    Column('sector', String(32), nullable=False),
    Column('services', String(300), nullable=False),
    Column('languages', String(100), nullable=False),
    Column('service_area', String(300), nullable=False),
    Column('hours', String(200), nullable=False),
    Column('hotline_24_7', Boolean(), nullable=False),
    Column('hotline_phone', String(40)),
    Column('privileged', Boolean(), nullable=False),
    Column('referral_method', String(300), nullable=False),
    Column('referral_email', String(320)),
    Column('retired_at', DateTime(timezone=True)),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('updated_at', DateTime(timezone=True), nullable=False),
)

partner_contact = Table(
    'partner_contact', metadata,
    Column('id', Integer(), primary_key=True),
    Column('partner_id', Integer(), nullable=False),
    Column('name', String(200), nullable=False),
    Column('role', String(100), nullable=False),
    Column('email', String(320)),
    Column('phone', String(40)),
    Column('escalation_order', Integer()),
    Column('active', Boolean(), nullable=False),
)

party = Table(
    'party', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('kind', String(24), nullable=False),
    Column('side', String(8), nullable=False),
    Column('represents_id', Integer()),
    Column('is_minor', Boolean(), nullable=False),
    Column('is_deceased', Boolean(), nullable=False),
    Column('name_enc', LargeBinary(), nullable=False),
    Column('email_enc', LargeBinary()),
    Column('phone_enc', LargeBinary()),
    Column('address_enc', LargeBinary()),
    Column('channels', String(64), nullable=False),
    Column('language', String(8), nullable=False),
    Column('time_zone', String(64)),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('phone_index', String(64)),
)

party_profile = Table(
    'party_profile', metadata,
    Column('party_id', Integer(), primary_key=True),
    Column('profile_enc', LargeBinary(), nullable=False),
    Column('updated_by', String(64), nullable=False),
    Column('updated_at', DateTime(timezone=True), nullable=False),
)

portal_access = Table(
    'portal_access', metadata,
    Column('id', Integer(), primary_key=True),
    Column('party_id', Integer(), nullable=False),
    Column('access_id', String(32), nullable=False),
    Column('code_hash', String(200)),
    Column('code_expires_at', DateTime(timezone=True)),
    Column('pin_hash', String(200)),
    Column('failures', Integer(), nullable=False),
    Column('locked_until', DateTime(timezone=True)),
    Column('revoked_at', DateTime(timezone=True)),
    Column('issued_by', String(64), nullable=False),
    Column('issued_at', DateTime(timezone=True), nullable=False),
    Column('last_sign_in', DateTime(timezone=True)),
)

portal_session = Table(
    'portal_session', metadata,
    Column('id', Integer(), primary_key=True),
    Column('access_id', Integer(), nullable=False),
    Column('token_hash', String(64), nullable=False),
    Column('must_set_pin', Boolean(), nullable=False),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('last_seen', DateTime(timezone=True), nullable=False),
    Column('ended_at', DateTime(timezone=True)),
)

process = Table(
    'process', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer()),
    Column('agency_level', Boolean(), nullable=False),
    Column('workflow', String(64), nullable=False),
    Column('workflow_version', Integer(), nullable=False),
    Column('state', String(64), nullable=False),
    Column('paused_from', String(64)),
    Column('version', Integer(), nullable=False),
    Column('victim_initiated', Boolean(), nullable=False),
    Column('initiator_party_id', Integer()),
    Column('initiator_side', String(8)),
    Column('data', JSON(), nullable=False),
    Column('terminal', Boolean(), nullable=False),
    Column('started_at', DateTime(timezone=True), nullable=False),
    Column('updated_at', DateTime(timezone=True), nullable=False),
)

protective_order = Table(
    'protective_order', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer(), nullable=False),
    Column('kind', String(16), nullable=False),
    Column('starts_on', Date(), nullable=False),
    Column('ends_on', Date()),
)

service_entry = Table(
    'service_entry', metadata,
    Column('id', Integer(), primary_key=True),
    Column('case_id', Integer()),
    Column('party_id', Integer()),
    Column('anonymous', Boolean(), nullable=False),
    Column('item', String(8), nullable=False),
    Column('at', DateTime(timezone=True), nullable=False),
    Column('contact', String(32), nullable=False),
    Column('recorded_by', String(64), nullable=False),
    Column('recorded_at', DateTime(timezone=True), nullable=False),
)

setting = Table(
    'setting', metadata,
    Column('key', String(128), primary_key=True),
    Column('value', String(), nullable=False),
)

staff = Table(
    'staff', metadata,
    Column('id', Integer(), primary_key=True),
    Column('login', String(64), nullable=False),
    Column('display_name', String(200), nullable=False),
    Column('role', String(32), nullable=False),
    Column('email', String(320)),
    Column('active', Boolean(), nullable=False),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('partner_id', Integer()),
)

timer = Table(
    'timer', metadata,
    Column('id', Integer(), primary_key=True),
    Column('process_id', Integer(), nullable=False),
    Column('name', String(64), nullable=False),
    Column('event', String(64), nullable=False),
    Column('due_at', DateTime(timezone=True), nullable=False),
    Column('status', String(16), nullable=False),
    Column('remaining_seconds', Float()),
    Column('created_at', DateTime(timezone=True), nullable=False),
    Column('fired_at', DateTime(timezone=True)),
    Column('note', String()),
    Column('case_event_id', Integer()),
)

worker = Table(
    'worker', metadata,
    Column('id', String(128), primary_key=True),
    Column('host', String(128), nullable=False),
    Column('pid', Integer(), nullable=False),
    Column('started_at', DateTime(timezone=True), nullable=False),
    Column('last_seen', DateTime(timezone=True), nullable=False),
    Column('status', String(16), nullable=False),
    Column('fired', Integer(), nullable=False),
    Column('delivered', Integer(), nullable=False),
)

workflow_pin = Table(
    'workflow_pin', metadata,
    Column('workflow', String(64), primary_key=True),
    Column('version', Integer(), primary_key=True),
    Column('fingerprint', String(64), nullable=False),
)
