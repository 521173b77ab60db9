-- Forwarding webhooks (Plazbot's /whatsapp/numbers/{number}/webhook): one
-- URL per connected number receives each inbound message, signed as the
-- Standard Webhooks specification says with the endpoint's secret (sealed
-- with the server's secret key). Registering again replaces the endpoint
-- (a new id and secret); deliveries of a replaced or removed endpoint are
-- not attempted again. An endpoint answering 410 Gone is disabled.
CREATE TABLE webhook_endpoints (
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	id                 TEXT NOT NULL,
	whatsapp_number_id TEXT NOT NULL,
	url                TEXT NOT NULL,
	secret             TEXT NOT NULL,
	disabled_at        TIMESTAMPTZ,
	disabled_reason    TEXT NOT NULL DEFAULT '',
	creation_date      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX webhook_endpoints_number ON webhook_endpoints (workspace_id, whatsapp_number_id);

-- One delivery per inbound message and endpoint: its body is fixed when
-- the message is stored, so every attempt and replay sends the same bytes
-- under the same webhook-id (the delivery's id). status: pending,
-- delivered, failed (attempts exhausted, or 410), cancelled (endpoint
-- replaced or removed).
CREATE TABLE webhook_deliveries (
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	id                 TEXT NOT NULL,
	whatsapp_number_id TEXT NOT NULL,
	endpoint_id        TEXT NOT NULL,
	message_id         TEXT NOT NULL,
	body               TEXT NOT NULL,
	status             TEXT NOT NULL,
	creation_date      TIMESTAMPTZ NOT NULL,
	updated_date       TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE INDEX webhook_deliveries_number ON webhook_deliveries (workspace_id, whatsapp_number_id, id);

-- Every attempt of a delivery: the HTTP status (NULL when no response
-- came), the error, and how long it took.
CREATE TABLE webhook_attempts (
	workspace_id TEXT NOT NULL,
	delivery_id  TEXT NOT NULL,
	id           TEXT NOT NULL,
	attempted_at TIMESTAMPTZ NOT NULL,
	status_code  INTEGER,
	error        TEXT NOT NULL DEFAULT '',
	duration_ms  INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, delivery_id, id)
);
