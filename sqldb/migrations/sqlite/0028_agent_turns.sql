-- The customers' messages an AI agent (or automation) is to answer: a row
-- is written with the message, in its transaction, and deleted in the
-- transaction that stores the agent's reply, so a turn run twice answers
-- once. job_id is the queue job that took it (NULL until one does): a
-- message that arrives while a turn runs is left for the next job.
CREATE TABLE agent_turn_pending (
	workspace_id    TEXT NOT NULL REFERENCES workspaces (id),
	message_id      TEXT NOT NULL,
	conversation_id TEXT NOT NULL,
	job_id          BIGINT,
	creation_date   TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, message_id)
);
CREATE INDEX agent_turn_pending_conversation ON agent_turn_pending (workspace_id, conversation_id, creation_date);
