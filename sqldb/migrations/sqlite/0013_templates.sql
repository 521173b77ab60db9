-- Template sends: a conversation remembers its last template send
-- (Plazbot's templateCode, templateType, type = sendType, campaignName,
-- agentSenderId), and a template message carries the send's references.
ALTER TABLE conversations ADD COLUMN template_code TEXT;
ALTER TABLE conversations ADD COLUMN template_type TEXT;
ALTER TABLE conversations ADD COLUMN send_type INTEGER;
ALTER TABLE conversations ADD COLUMN campaign_name TEXT;
ALTER TABLE conversations ADD COLUMN agent_sender_id TEXT;
ALTER TABLE messages ADD COLUMN reference1 TEXT;
ALTER TABLE messages ADD COLUMN reference2 TEXT;
ALTER TABLE messages ADD COLUMN reference3 TEXT;

-- The approved templates a send looks up by name.
CREATE INDEX whatsapp_templates_status ON whatsapp_templates (workspace_id, name, status);
