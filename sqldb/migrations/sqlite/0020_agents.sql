-- AI agents. config is the configuration document as the client sent it
-- (Plazbot's agent.config.json), kept as text so every key comes back.
-- enabled mirrors its "enable" key for the channel index below.
CREATE TABLE agents (
	workspace_id  TEXT NOT NULL REFERENCES workspaces (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	config        TEXT NOT NULL,
	enabled       BOOLEAN NOT NULL,
	creation_date TIMESTAMP NOT NULL,
	updated_date  TIMESTAMP NOT NULL,
	PRIMARY KEY (workspace_id, id)
);

-- Where each agent answers, from its "channels": channel_key is the
-- WhatsApp number's digits, '' for the web chat. At most one enabled
-- agent of a workspace answers on a channel.
CREATE TABLE agent_channels (
	workspace_id TEXT NOT NULL,
	agent_id     TEXT NOT NULL,
	channel      TEXT NOT NULL,
	channel_key  TEXT NOT NULL,
	enabled      BOOLEAN NOT NULL,
	PRIMARY KEY (workspace_id, agent_id, channel, channel_key),
	FOREIGN KEY (workspace_id, agent_id) REFERENCES agents (workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX agent_channels_enabled ON agent_channels (workspace_id, channel, channel_key) WHERE enabled;
