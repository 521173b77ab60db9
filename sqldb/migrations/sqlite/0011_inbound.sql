-- Inbound messaging: who sent each message, and templates found by Meta's
-- id when a review webhook names them.

-- The sender's number: the customer's wa_id on inbound messages. NULL on
-- messages the business sent; their sender is the conversation's number.
ALTER TABLE messages ADD COLUMN from_phone TEXT;

CREATE INDEX whatsapp_templates_meta ON whatsapp_templates (workspace_id, meta_id);

-- A conversation's messages are read in the order they were sent.
CREATE INDEX messages_conversation_time ON messages (workspace_id, conversation_id, timestamp, id);
