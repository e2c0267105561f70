"""A lead's one conversation: texts, e-mails, calls and bookings in one thread, with one
composer whose tabs post to each channel's own send route (app/inbox/sms, email, calls)."""
