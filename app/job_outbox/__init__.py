"""The transactional job outbox: every background job is a `job_outbox` row written in the
transaction of the change that needs it (PostgreSQL is the truth), pushed to RQ right after
the commit and, whatever happened to Redis meanwhile, by the relay (app.job_outbox.relay).
`app.queue.enqueue` writes the rows; `app.queue.run_job` marks them done or failed."""
