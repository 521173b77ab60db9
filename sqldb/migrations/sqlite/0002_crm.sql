-- The CRM: contacts, opportunities, tasks, their activities, the stage
-- history, per-workspace sequences and idempotency records. Every table
-- leads its keys with workspace_id; references within a workspace are
-- composite foreign keys, so a row can never point into another workspace.
-- Soft-deleted rows keep their data; unique indexes skip them.

CREATE TABLE contacts (
	workspace_id              TEXT NOT NULL REFERENCES workspaces (id),
	id                        TEXT NOT NULL,
	name                      TEXT NOT NULL DEFAULT '',
	lastname                  TEXT NOT NULL DEFAULT '',
	email                     TEXT,
	email_normalized          TEXT,
	platform_id               INTEGER NOT NULL,
	-- The business's own WhatsApp number the contact talks to.
	internal_whatsapp_number  TEXT,
	-- The customer's phone: E.164 as given, WhatsApp's wa_id, and the key
	-- that matches every variant of one number (see package phone).
	phone                     TEXT,
	wa_id                     TEXT,
	phone_key                 TEXT,
	platform_sender_id        TEXT,
	platform_sender_name      TEXT NOT NULL DEFAULT '',
	stage_id                  TEXT,
	segmentation_id           TEXT,
	assigned_agent_id         TEXT,
	last_message              TEXT,
	last_message_date         TIMESTAMP,
	is_read                   BOOLEAN NOT NULL DEFAULT FALSE,
	is_bot_enabled            BOOLEAN NOT NULL DEFAULT TRUE,
	is_manually_added         BOOLEAN NOT NULL DEFAULT TRUE,
	avatar_color              TEXT,
	order_in_cards            INTEGER NOT NULL DEFAULT 0,
	order_in_cards_updated    TIMESTAMP NOT NULL,
	custom_fields             TEXT NOT NULL DEFAULT '[]',
	variables                 TEXT NOT NULL DEFAULT '[]',
	is_solved                 BOOLEAN NOT NULL DEFAULT FALSE,
	solved_by_agent_id        TEXT,
	solved_date               TIMESTAMP,
	blocked                   BOOLEAN NOT NULL DEFAULT FALSE,
	creation_date             TIMESTAMP NOT NULL,
	updated_date              TIMESTAMP NOT NULL,
	deletion_date             TIMESTAMP,
	user_deletion             TEXT,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, stage_id) REFERENCES stages (workspace_id, id),
	FOREIGN KEY (workspace_id, segmentation_id) REFERENCES segmentations (workspace_id, id),
	FOREIGN KEY (workspace_id, assigned_agent_id) REFERENCES workspace_members (workspace_id, user_id)
);
CREATE UNIQUE INDEX contacts_phone ON contacts (workspace_id, phone_key) WHERE deletion_date IS NULL AND phone_key IS NOT NULL;
CREATE UNIQUE INDEX contacts_email ON contacts (workspace_id, email_normalized) WHERE deletion_date IS NULL AND email_normalized IS NOT NULL;
CREATE INDEX contacts_updated ON contacts (workspace_id, updated_date);

CREATE TABLE contact_tags (
	workspace_id    TEXT NOT NULL,
	contact_id      TEXT NOT NULL,
	tag_id          TEXT NOT NULL,
	assignment_date TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, contact_id, tag_id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE,
	FOREIGN KEY (workspace_id, tag_id) REFERENCES tags (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_tags_tag ON contact_tags (workspace_id, tag_id);

-- Notes and tool calls on a contact's history. actor_type is user,
-- api_key or agent; actor_id the user, key or AI agent.
CREATE TABLE contact_activities (
	workspace_id  TEXT NOT NULL,
	id            TEXT NOT NULL,
	contact_id    TEXT NOT NULL,
	content       TEXT NOT NULL,
	category_type TEXT NOT NULL DEFAULT 'Note',
	actor_type    TEXT NOT NULL,
	actor_id      TEXT NOT NULL,
	creation_date TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_activities_contact ON contact_activities (workspace_id, contact_id, id);

CREATE TABLE opportunities (
	workspace_id           TEXT NOT NULL REFERENCES workspaces (id),
	id                     TEXT NOT NULL,
	opport_code            TEXT NOT NULL,
	opport_status          INTEGER NOT NULL DEFAULT 1,
	-- 0 open, 1 won, 2 lost.
	win_loss_status        INTEGER NOT NULL DEFAULT 0,
	win_loss_date          TIMESTAMP,
	final_amount           REAL NOT NULL DEFAULT 0,
	loss_reason            TEXT,
	creation_type_id       INTEGER NOT NULL DEFAULT 1,
	status_id              INTEGER NOT NULL DEFAULT 1,
	name                   TEXT NOT NULL,
	description            TEXT NOT NULL DEFAULT '',
	amount                 REAL NOT NULL DEFAULT 0,
	user_creation          TEXT NOT NULL,
	contact_id             TEXT,
	expiration_date        TIMESTAMP,
	assigned_agent_id      TEXT,
	stage_id               TEXT,
	segmentation_id        TEXT,
	custom_fields          TEXT NOT NULL DEFAULT '[]',
	files                  TEXT NOT NULL DEFAULT '[]',
	order_in_cards         INTEGER NOT NULL DEFAULT 1,
	order_in_cards_updated TIMESTAMP NOT NULL,
	creation_date          TIMESTAMP NOT NULL,
	updated_date           TIMESTAMP,
	deletion_date          TIMESTAMP,
	user_deletion          TEXT,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
	FOREIGN KEY (workspace_id, stage_id) REFERENCES stages (workspace_id, id),
	FOREIGN KEY (workspace_id, segmentation_id) REFERENCES segmentations (workspace_id, id),
	FOREIGN KEY (workspace_id, assigned_agent_id) REFERENCES workspace_members (workspace_id, user_id)
);
CREATE UNIQUE INDEX opportunities_code ON opportunities (workspace_id, opport_code);
CREATE INDEX opportunities_contact ON opportunities (workspace_id, contact_id);

CREATE TABLE opportunity_activities (
	workspace_id   TEXT NOT NULL,
	id             TEXT NOT NULL,
	opportunity_id TEXT NOT NULL,
	category_type  TEXT NOT NULL,
	content        TEXT NOT NULL,
	date           TIMESTAMP NOT NULL,
	actor_type     TEXT NOT NULL,
	actor_id       TEXT NOT NULL,
	creation_date  TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, opportunity_id) REFERENCES opportunities (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX opportunity_activities_opportunity ON opportunity_activities (workspace_id, opportunity_id, id);

-- Every change of stage or win/loss status of a contact or opportunity.
CREATE TABLE stage_history (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	id              TEXT NOT NULL,
	entity          TEXT NOT NULL CHECK (entity IN ('contact', 'opportunity')),
	record_id       TEXT NOT NULL,
	from_stage_id   TEXT,
	to_stage_id     TEXT,
	from_win_loss   INTEGER,
	to_win_loss     INTEGER,
	loss_reason     TEXT,
	actor_type      TEXT NOT NULL,
	actor_id        TEXT NOT NULL,
	creation_date   TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE INDEX stage_history_record ON stage_history (workspace_id, entity, record_id, id);

CREATE TABLE tasks (
	workspace_id           TEXT NOT NULL REFERENCES workspaces (id),
	id                     TEXT NOT NULL,
	name                   TEXT NOT NULL,
	description            TEXT NOT NULL DEFAULT '',
	notes                  TEXT,
	status_id              INTEGER NOT NULL DEFAULT 1,
	project_status_id      TEXT NOT NULL,
	project_id             TEXT,
	contact_id             TEXT,
	opportunity_id         TEXT,
	expiration_date        TIMESTAMP,
	files                  TEXT NOT NULL DEFAULT '[]',
	order_in_cards         INTEGER NOT NULL DEFAULT 0,
	order_in_cards_updated TIMESTAMP NOT NULL,
	user_creation          TEXT NOT NULL,
	creation_date          TIMESTAMP NOT NULL,
	updated_date           TIMESTAMP NOT NULL,
	deletion_date          TIMESTAMP,
	user_deletion          TEXT,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, project_status_id) REFERENCES task_states (workspace_id, id),
	FOREIGN KEY (workspace_id, project_id) REFERENCES projects (workspace_id, id),
	FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id),
	FOREIGN KEY (workspace_id, opportunity_id) REFERENCES opportunities (workspace_id, id)
);
CREATE INDEX tasks_contact ON tasks (workspace_id, contact_id);

CREATE TABLE task_assignees (
	workspace_id TEXT NOT NULL,
	task_id      TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	PRIMARY KEY (workspace_id, task_id, user_id),
	FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id) ON DELETE CASCADE,
	FOREIGN KEY (workspace_id, user_id) REFERENCES workspace_members (workspace_id, user_id)
);

-- Readable per-workspace numbers (OPP-000042): the row is locked by the
-- UPDATE that takes the next value, so concurrent creates never share one.
CREATE TABLE sequences (
	workspace_id TEXT NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	value        INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, name)
);

-- Idempotency-Key records: the first request with a key claims it
-- (state 'pending'), and its response is kept (state 'done') for replay.
CREATE TABLE idempotency_keys (
	workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
	key            TEXT NOT NULL,
	request_hash   TEXT NOT NULL,
	state          TEXT NOT NULL CHECK (state IN ('pending', 'done')),
	status         INTEGER,
	response       TEXT,
	creation_date  TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (creation_date);
