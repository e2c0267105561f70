"""Calls: logging a call from the lead page, call lists, the power dialer and voicemail
drops. Views register on the inbox blueprint (app/inbox/__init__.py)."""
