-- Campaigns: a Send Conversation to many destinations, stored whole in the
-- request's transaction (spec is the checked send, built into Meta's
-- template object) and fanned out by a queue job in batches. A
-- destination's message_id is set in the transaction that stores its
-- message and send job, so a fan-out resumed after a crash queues exactly
-- the destinations still without one.
CREATE TABLE campaigns (
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	id                 TEXT NOT NULL,
	name               TEXT NOT NULL DEFAULT '',
	template_name      TEXT NOT NULL,
	whatsapp_number_id TEXT NOT NULL,
	spec               TEXT NOT NULL,
	total              INTEGER NOT NULL,
	queued             INTEGER NOT NULL DEFAULT 0,
	creation_date      TIMESTAMPTZ NOT NULL,
	fanned_out_date    TIMESTAMPTZ,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, whatsapp_number_id) REFERENCES whatsapp_numbers (workspace_id, id)
);

CREATE TABLE campaign_destinations (
	workspace_id TEXT NOT NULL,
	campaign_id  TEXT NOT NULL,
	position     INTEGER NOT NULL,
	phone        TEXT NOT NULL,
	message_id   TEXT,
	PRIMARY KEY (workspace_id, campaign_id, position),
	FOREIGN KEY (workspace_id, campaign_id) REFERENCES campaigns (workspace_id, id)
);
CREATE INDEX campaign_destinations_pending ON campaign_destinations (workspace_id, campaign_id, position) WHERE message_id IS NULL;
CREATE INDEX campaign_destinations_message ON campaign_destinations (workspace_id, message_id);
