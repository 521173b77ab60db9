-- Automations (Plazbot's flows): a trigger and a chain of nodes. Nodes
-- have their own table, keyed by workspace and id, so a node id is unique
-- in its workspace and Update Agente IA Prompt finds a node by its id.
-- trigger_match is the trigger's key as triggers are matched (the digits
-- of a WhatsApp number); one enabled automation per trigger.
CREATE TABLE automations (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	id              TEXT NOT NULL,
	name            TEXT NOT NULL,
	enabled         BOOLEAN NOT NULL,
	trigger_channel TEXT NOT NULL,
	trigger_key     TEXT NOT NULL DEFAULT '',
	trigger_match   TEXT NOT NULL DEFAULT '',
	creation_date   TIMESTAMP NOT NULL,
	updated_date    TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX automations_enabled_trigger ON automations (workspace_id, trigger_channel, trigger_match) WHERE enabled;

-- ordinal keeps the nodes in the order the client gave them. api_key is
-- the node's LLM key sealed with the server's secret key ('' for none).
CREATE TABLE automation_nodes (
	workspace_id    TEXT NOT NULL,
	id              TEXT NOT NULL,
	automation_id   TEXT NOT NULL,
	ordinal         INTEGER NOT NULL,
	type            TEXT NOT NULL,
	name            TEXT NOT NULL,
	position_x      REAL,
	position_y      REAL,
	next_id         TEXT NOT NULL DEFAULT '',
	prompt          TEXT NOT NULL DEFAULT '',
	model           TEXT NOT NULL DEFAULT '',
	temperature     REAL,
	max_tokens      INTEGER,
	memory          INTEGER NOT NULL DEFAULT 0,
	output_variable TEXT NOT NULL DEFAULT '',
	api_key         TEXT NOT NULL DEFAULT '',
	text            TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, automation_id) REFERENCES automations (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX automation_nodes_automation ON automation_nodes (workspace_id, automation_id, ordinal);
