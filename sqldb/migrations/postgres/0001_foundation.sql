-- Users, workspaces, memberships, credentials and the workspace masters.
-- Users and API keys are global (they authenticate before a workspace is
-- known); every workspace-owned table leads its keys with workspace_id.

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE users (
	id                   TEXT PRIMARY KEY,
	email                TEXT NOT NULL,
	email_normalized     TEXT NOT NULL UNIQUE,
	name                 TEXT NOT NULL DEFAULT '',
	last_name            TEXT NOT NULL DEFAULT '',
	avatar               TEXT NOT NULL DEFAULT '',
	company              TEXT NOT NULL DEFAULT '',
	password_hash        TEXT NOT NULL,
	password_version     INTEGER NOT NULL DEFAULT 1,
	default_start_week   INTEGER NOT NULL DEFAULT 1,
	is_external_creation BOOLEAN NOT NULL DEFAULT FALSE,
	creation_date        TIMESTAMPTZ NOT NULL
);

CREATE TABLE workspaces (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL,
	owner_id      TEXT NOT NULL REFERENCES users (id),
	url_avatar    TEXT NOT NULL DEFAULT '',
	status        INTEGER NOT NULL DEFAULT 1,
	creation_date TIMESTAMPTZ NOT NULL,
	deletion_date TIMESTAMPTZ
);

CREATE TABLE workspace_members (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	user_id       TEXT NOT NULL REFERENCES users (id),
	role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'agent', 'commercial')),
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX workspace_members_user ON workspace_members (user_id);

CREATE TABLE api_keys (
	workspace_id   TEXT NOT NULL,
	id             TEXT NOT NULL,
	user_id        TEXT NOT NULL,
	name           TEXT NOT NULL,
	prefix         TEXT NOT NULL,
	key_hash       TEXT NOT NULL,
	creation_date  TIMESTAMPTZ NOT NULL,
	last_used_date TIMESTAMPTZ,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, user_id) REFERENCES workspace_members (workspace_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (key_hash);

CREATE TABLE password_resets (
	id            TEXT PRIMARY KEY,
	user_id       TEXT NOT NULL REFERENCES users (id),
	code_hash     TEXT NOT NULL UNIQUE,
	creation_date TIMESTAMPTZ NOT NULL,
	expires_at    TIMESTAMPTZ NOT NULL,
	used_at       TIMESTAMPTZ
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Failed logins and reset attempts, counted per key ("email:<hash>",
-- "addr:<ip>") in a fixed window, shared by every replica.
CREATE TABLE auth_failures (
	key          TEXT PRIMARY KEY,
	count        INTEGER NOT NULL,
	window_start TIMESTAMPTZ NOT NULL
);

CREATE TABLE stages (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	pipeline      TEXT NOT NULL CHECK (pipeline IN ('contact', 'opportunity')),
	name          TEXT NOT NULL,
	color         TEXT NOT NULL DEFAULT '',
	position      INTEGER NOT NULL,
	is_default    BOOLEAN NOT NULL DEFAULT FALSE,
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);

CREATE TABLE task_states (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	color         TEXT NOT NULL DEFAULT '',
	state_code    TEXT NOT NULL,
	position      INTEGER NOT NULL,
	is_default    BOOLEAN NOT NULL DEFAULT FALSE,
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);

CREATE TABLE projects (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	color         TEXT NOT NULL DEFAULT '',
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);

CREATE TABLE segmentations (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	color         TEXT NOT NULL DEFAULT '',
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);

CREATE TABLE tags (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	color         TEXT NOT NULL DEFAULT '',
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
