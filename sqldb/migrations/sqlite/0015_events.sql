-- Events: what happened in a workspace's conversations, written in the
-- transaction of the change, for GET /api/events. SQLite has one writer
-- at a time, so AUTOINCREMENT ids are in commit order and a reader asking
-- for id > last misses nothing.
CREATE TABLE events (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	type            TEXT NOT NULL,
	conversation_id TEXT,
	contact_id      TEXT,
	data            TEXT NOT NULL,
	created_at      TIMESTAMP NOT NULL
);
CREATE INDEX events_workspace ON events (workspace_id, id);
