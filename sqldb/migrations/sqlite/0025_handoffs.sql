-- The AI agent's handoff state of each conversation (plaza.Handoff):
-- bot_active -> handoff_requested -> human_active -> bot_resumed. A
-- conversation without a row is bot_active. Every change is kept in
-- handoff_changes with who made it.
CREATE TABLE conversation_handoffs (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	conversation_id TEXT NOT NULL,
	state           TEXT NOT NULL CHECK (state IN ('bot_active', 'handoff_requested', 'human_active', 'bot_resumed')),
	reason          TEXT,
	actor_type      TEXT NOT NULL,
	actor_id        TEXT NOT NULL,
	updated_date    TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, conversation_id),
	FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id)
);

CREATE TABLE handoff_changes (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	id              TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	from_state      TEXT NOT NULL,
	to_state        TEXT NOT NULL,
	reason          TEXT,
	actor_type      TEXT NOT NULL,
	actor_id        TEXT NOT NULL,
	creation_date   TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id),
	FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id)
);
CREATE INDEX handoff_changes_conversation ON handoff_changes (workspace_id, conversation_id, id);
