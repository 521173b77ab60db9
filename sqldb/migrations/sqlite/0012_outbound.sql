-- Outbound sends: how long a send left "sending" (its answer from Meta
-- lost to a crash or a timeout) waits for a status webhook naming it
-- before it is taken to be unknown to Meta and sent again.
ALTER TABLE messages ADD COLUMN reconcile_until TIMESTAMP;
