-- The inbox of webhook deliveries becomes its own durable queue: the
-- webhook inserts one row and answers; each process's drainer claims
-- unprocessed rows in arrival order (id is a UUIDv7), applies them and
-- marks them processed. A claim is a lease (claimed_until): a process that
-- dies holding one loses it when it expires, and another takes the rows.
-- A delivery whose processing fails is retried at next_attempt_at (with
-- backoff), its attempts and last error kept; after the last attempt it
-- gets failed_at and stays for inspection. Rows queued as River jobs
-- before this migration are unprocessed rows like any other: the drainer
-- takes them.
ALTER TABLE whatsapp_inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE whatsapp_inbox ADD COLUMN last_error TEXT;
ALTER TABLE whatsapp_inbox ADD COLUMN next_attempt_at TIMESTAMPTZ;
ALTER TABLE whatsapp_inbox ADD COLUMN claimed_by TEXT;
ALTER TABLE whatsapp_inbox ADD COLUMN claimed_until TIMESTAMPTZ;
ALTER TABLE whatsapp_inbox ADD COLUMN failed_at TIMESTAMPTZ;
CREATE INDEX whatsapp_inbox_pending ON whatsapp_inbox (id) WHERE processed_at IS NULL AND failed_at IS NULL;
