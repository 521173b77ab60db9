-- Events: what happened in a workspace's conversations, written in the
-- transaction of the change, for GET /api/events on every replica.
--
-- The id orders events in the order they become visible, which a sequence
-- cannot do: ids are drawn at insert but transactions commit in another
-- order, so a reader asking for id > last would skip an id drawn earlier
-- and committed later. Instead an event's id is its transaction's id
-- (xid8) times 65536 plus its rank in the transaction, and readers take
-- only ids below pg_snapshot_xmin(pg_current_snapshot()) * 65536: every
-- transaction below that xid has finished, and any event not visible yet
-- belongs to a transaction at or above it, so it gets a larger id than
-- everything delivered. See sqldb/event.go.
CREATE TABLE events (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	id              BIGINT NOT NULL,
	type            TEXT NOT NULL,
	conversation_id TEXT,
	contact_id      TEXT,
	data            TEXT NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
-- The listener's tail of all workspaces, and retention (oldest first).
CREATE INDEX events_id ON events (id);

-- Each transaction that writes events wakes the listeners of every
-- replica once, on commit (PostgreSQL folds a transaction's identical
-- notifications into one and drops them on rollback). The payload is the
-- schema, so installations sharing a database ignore each other.
CREATE FUNCTION plaza_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('plaza_events', current_schema());
	RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events FOR EACH STATEMENT EXECUTE FUNCTION plaza_events_notify();
