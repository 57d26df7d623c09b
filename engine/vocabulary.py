"""The schema's words: the values its columns take (roles, kinds, channels, statuses...).

Declared here, without the ORM, so a reader on ``engine.tables`` can use them;
``engine.models`` builds its CHECK constraints from them (and re-exports them).
"""

# ``mailroom``: prints, mails and tracks letters (migration 0009); reads no case, party or notice.
ROLES = ("officer", "advocate", "victim_services", "facilitator", "parole_board", "admin", "mailroom")
PARTY_KINDS = ("victim", "survivor", "co_victim", "witness", "guardian", "next_of_kin", "supervised_person")
VICTIM_SIDE_KINDS = ("victim", "survivor", "co_victim", "witness", "guardian", "next_of_kin")
CHANNELS = ("email", "sms", "letter")
LANGUAGES = ("en", "es")
TIMER_STATUSES = ("pending", "frozen", "fired", "cancelled")
# A letter is not "sent" when the letter channel takes it: the mail room's steps are its delivery states
# (migration 0009): awaiting_print -> printed -> mailed -> delivered, or returned (the next channel is tried).
MAIL_STATUSES = ("awaiting_print", "printed", "mailed", "delivered", "returned")
NOTICE_STATUSES = ("queued", "held", "sending", "sent", "failed", "confirmed", "cancelled") + MAIL_STATUSES
MAIL_BATCH_STATUSES = ("printed", "mailed")
AUDIENCES = ("victim", "offender", "staff", "partner", "responder")
CASE_CONTACT_ROLES = ("law_enforcement", "prosecutor")
# Community partners (seed 002): the advocate model, the sector, and the VOCA service categories.
PARTNER_MODELS = ("community_based", "systems_based", "hybrid")
PARTNER_SECTORS = ("dv_program", "sexual_assault_program", "child_advocacy", "elder_abuse", "homicide_survivors",
                   "faith_based", "shelter_housing", "compensation", "prosecutor", "law_enforcement", "courts",
                   "health", "protective_services", "legal_aid", "other")
PARTNER_SERVICES = ("information_referral", "personal_advocacy", "emotional_support_safety", "shelter_housing",
                    "justice_system_assistance")


# The PMT's service item codes (their names: services.pmt_catalog.ITEMS, which a test keeps equal).
SERVICE_ITEMS = ("A1", "A2", "A3", "A4", *(f"B{n}" for n in range(1, 11)), *(f"C{n}" for n in range(1, 8)),
                 "D1", "D2", "D3", *(f"E{n}" for n in range(1, 12)), "COMP")
# The partial index ``notice_event_delivered`` covers exactly these rows (handed to a channel; whether it
# reached the person is its status: a letter is delivered once mailed, never while it waits or if returned).
DELIVERED_STATUSES = ("sent", "confirmed", "mailed", "delivered")

