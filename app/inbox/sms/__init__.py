"""SMS through the rep's Android phone (Android SMS Gateway): views on the inbox blueprint,
the webhook on the webhooks blueprint, the development outbox on the outbox blueprint."""
