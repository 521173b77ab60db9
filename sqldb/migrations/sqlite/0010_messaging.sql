-- Messaging: connected WhatsApp numbers, the raw inbox of webhook
-- deliveries, conversations (one thread per contact and channel number),
-- messages in both directions, and templates.

-- A WhatsApp Business number connected to a workspace. phone_number_id is
-- unique across workspaces: one webhook endpoint serves every number and
-- routes by it. Secrets are sealed with the server's secret key; the
-- verify token is only ever compared, so only its hash is kept.
CREATE TABLE whatsapp_numbers (
	workspace_id         TEXT NOT NULL REFERENCES workspaces (id),
	id                   TEXT NOT NULL,
	phone_number_id      TEXT NOT NULL,
	waba_id              TEXT NOT NULL,
	display_phone_number TEXT NOT NULL,
	-- digits of the display number, to find the number an agent channel
	-- or a forwarding webhook names
	display_digits       TEXT NOT NULL,
	access_token         TEXT NOT NULL,
	app_secret           TEXT NOT NULL,
	verify_token_hash    TEXT NOT NULL,
	creation_date        TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX whatsapp_numbers_phone_number_id ON whatsapp_numbers (phone_number_id);
CREATE UNIQUE INDEX whatsapp_numbers_display ON whatsapp_numbers (workspace_id, display_digits);
CREATE INDEX whatsapp_numbers_verify ON whatsapp_numbers (verify_token_hash);

-- Webhook deliveries as Meta sent them, stored before the 200 is answered;
-- a job turns each into contacts, conversations, messages and statuses.
CREATE TABLE whatsapp_inbox (
	id           TEXT PRIMARY KEY,
	body         TEXT NOT NULL,
	received_at  TIMESTAMP NOT NULL,
	processed_at TIMESTAMP
);

-- A conversation is the thread between a contact and one channel of the
-- workspace (a WhatsApp number, or the web chat). The 24-hour customer
-- service window opens with each inbound message.
CREATE TABLE conversations (
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	id                 TEXT NOT NULL,
	contact_id         TEXT NOT NULL,
	channel            TEXT NOT NULL CHECK (channel IN ('whatsapp', 'webchat')),
	whatsapp_number_id TEXT,
	window_expires_at  TIMESTAMP,
	last_message       TEXT,
	last_message_date  TIMESTAMP,
	creation_date      TIMESTAMP NOT NULL,
	updated_date       TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
	FOREIGN KEY (workspace_id, whatsapp_number_id) REFERENCES whatsapp_numbers (workspace_id, id)
);
CREATE UNIQUE INDEX conversations_thread ON conversations (workspace_id, contact_id, channel, whatsapp_number_id);

-- Messages, inbound and outbound. wamid is WhatsApp's message id: unique
-- per workspace, so a webhook delivered twice stores its message once.
-- Outbound messages move through send_state: queued -> sending -> sent or
-- failed (sending is written before Meta is called, so a crash in between
-- is found and reconciled, never sent blindly again); status follows
-- Meta's status webhooks: sent < delivered < read, failed from any state.
CREATE TABLE messages (
	workspace_id          TEXT NOT NULL REFERENCES workspaces (id),
	id                    TEXT NOT NULL,
	conversation_id       TEXT NOT NULL,
	contact_id            TEXT NOT NULL,
	direction             TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	type                  TEXT NOT NULL,
	content               TEXT NOT NULL DEFAULT '',
	payload               TEXT NOT NULL DEFAULT '{}',
	wamid                 TEXT,
	recipient_phone       TEXT,
	status                TEXT,
	send_state            TEXT,
	error_code            INTEGER,
	error_title           TEXT,
	error_details         TEXT,
	external_reference_id TEXT,
	agent_sender_id       TEXT,
	answer_type           TEXT,
	template_name         TEXT,
	attempts              INTEGER NOT NULL DEFAULT 0,
	timestamp             TIMESTAMP NOT NULL,
	creation_date         TIMESTAMP NOT NULL,
	updated_date          TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id)
);
CREATE UNIQUE INDEX messages_wamid ON messages (workspace_id, wamid) WHERE wamid IS NOT NULL;
CREATE INDEX messages_conversation ON messages (workspace_id, conversation_id, id);

-- WhatsApp message templates of a number's WABA, synced from Meta.
CREATE TABLE whatsapp_templates (
	workspace_id       TEXT NOT NULL REFERENCES workspaces (id),
	id                 TEXT NOT NULL,
	whatsapp_number_id TEXT NOT NULL,
	meta_id            TEXT,
	name               TEXT NOT NULL,
	language           TEXT NOT NULL,
	category           TEXT NOT NULL,
	status             TEXT NOT NULL,
	reason             TEXT,
	components         TEXT NOT NULL DEFAULT '[]',
	creation_date      TIMESTAMP NOT NULL,
	updated_date       TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, whatsapp_number_id) REFERENCES whatsapp_numbers (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX whatsapp_templates_name ON whatsapp_templates (workspace_id, whatsapp_number_id, name, language);
