"""E-mail from the lead page: SMTP / development outbox (Gmail OAuth is not built yet)."""
