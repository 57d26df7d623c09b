"""The victim portal's web layer (issue 17): routes, templates, strings. No business logic: every
action is one call into ``services.portal`` or ``services.sms_inbound``."""
