"""Bookings from Cal.com: the webhook (webhook.py: verify, store once, enqueue), the job that
applies a stored event (jobs.py -> services.apply_calcom_event), the unmatched list with
"attach to contact" and the lead page's bookings card (views.py)."""
