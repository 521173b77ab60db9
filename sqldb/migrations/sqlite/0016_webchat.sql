-- Web chat: the widget's visitors. A visitor is a contact (platform_id 1)
-- with one conversation on channel 'webchat' per session; the session
-- itself lives in a signed token the widget keeps, so no table holds it.

-- The agent the widget was embedded for (widget.js's Id=), for the agent
-- runtime to answer with; NULL for none and on other channels.
ALTER TABLE conversations ADD COLUMN webchat_agent_id TEXT;

-- A contact's web chat conversations, newest first (a reply from the
-- console goes to the newest).
CREATE INDEX conversations_webchat ON conversations (workspace_id, contact_id, id) WHERE channel = 'webchat';

-- Rate limits of the public visitor endpoints, per client address: a
-- fixed window per key ("session:<addr>", "message:<addr>"), shared by
-- every replica. Rows whose window has passed are deleted now and then.
CREATE TABLE webchat_rate (
	key          TEXT PRIMARY KEY,
	count        INTEGER NOT NULL,
	window_start TIMESTAMP NOT NULL
);
CREATE INDEX webchat_rate_window ON webchat_rate (window_start);
