-- The messages of API chat sessions with an agent (POST
-- /api/agent/on-message): the session id is the client's, unique within
-- the workspace's agent. The agent's context takes the last ones.
CREATE TABLE agent_session_messages (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	agent_id      TEXT NOT NULL,
	session_id    TEXT NOT NULL,
	role          TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
	content       TEXT NOT NULL,
	creation_date TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (workspace_id, id)
);
CREATE INDEX agent_session_messages_session ON agent_session_messages (workspace_id, agent_id, session_id, id);
