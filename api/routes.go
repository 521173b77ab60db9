package api

// route is one entry of the API's surface.
type route struct {
	pattern string
	auth    authMode
	handler handlerFunc
}

// routeTable is the whole HTTP surface of Plaza. Every pattern here is in
// the OpenAPI document (openapi.json), and a test keeps the two equal.
func (s *Server) routeTable() []route {
	return []route{
		// Operations.
		{"GET /healthz", authNone, s.handleHealthz},
		{"GET /readyz", authNone, s.handleReadyz},
		{"GET /openapi.json", authNone, s.handleOpenAPI},

		// Users (Plazbot §3.20–§3.24).
		{"POST /api/user", authOptional, s.handleUserCreate},
		{"GET /api/user/email", authRequired, s.handleUserByEmail},
		{"POST /api/user/login", authNone, s.handleUserLogin},
		{"POST /api/user/sendEmailToResetPassword", authNone, s.handleUserSendReset},
		{"POST /api/user/resetPassword", authNone, s.handleUserResetPassword},

		// Workspaces (Plazbot §3.25 and list-users).
		{"GET /api/workspace/{workspaceId}", authRequired, s.handleWorkspaceGet},
		{"GET /api/workspace/usersByWorkspaceId/{workspaceId}", authRequired, s.handleWorkspaceUsers},

		// Contacts (Plazbot §3.2–§3.8, §4 delete-batch).
		{"GET /api/contact", authRequired, s.handleContactList},
		{"POST /api/contact", authRequired, s.handleContactCreate},
		{"PUT /api/contact", authRequired, s.handleContactUpdate},
		{"GET /api/contact/{contactId}", authRequired, s.handleContactGet},
		{"GET /api/contact/searchByEmail", authRequired, s.handleContactByEmail},
		{"GET /api/contact/searchByCellphone", authRequired, s.handleContactByPhone},
		{"POST /api/contact/{contactId}/activities", authRequired, s.handleContactActivityCreate},
		{"GET /api/contact/{contactId}/activities", authRequired, s.handleContactActivityList},
		{"GET /api/contact/{contactId}/history", authRequired, s.handleContactHistory},
		{"POST /api/contact/delete-batch", authRequired, s.handleContactDeleteBatch},

		// Opportunities (Plazbot §3.12–§3.16).
		{"GET /api/opportunity", authRequired, s.handleOpportunityList},
		{"POST /api/opportunity", authRequired, s.handleOpportunityCreate},
		{"PUT /api/opportunity", authRequired, s.handleOpportunityUpdate},
		{"GET /api/opportunity/{opportunityId}", authRequired, s.handleOpportunityGet},
		{"DELETE /api/opportunity/{opportunityId}", authRequired, s.handleOpportunityDelete},
		{"DELETE /api/opportunity", authRequired, s.handleOpportunityDelete},
		{"POST /api/opportunity/{opportunityId}/agent/activities", authRequired, s.handleOpportunityActivityCreate},
		{"GET /api/opportunity/{opportunityId}/agent/activities", authRequired, s.handleOpportunityActivityList},
		{"POST /api/opportunity/{opportunityId}/winLoss", authRequired, s.handleOpportunityWinLoss},
		{"GET /api/opportunity/{opportunityId}/history", authRequired, s.handleOpportunityHistory},

		// Pipelines and their stages (Plaza's extension).
		{"GET /api/pipeline", authRequired, s.handlePipelineList},
		{"POST /api/pipeline/{pipelineId}/stages", authRequired, s.handleStageCreate},
		{"PUT /api/pipeline/{pipelineId}/stages", authRequired, s.handleStageReorder},
		{"PUT /api/pipeline/{pipelineId}/stages/{stageId}", authRequired, s.handleStageUpdate},
		{"DELETE /api/pipeline/{pipelineId}/stages/{stageId}", authRequired, s.handleStageDelete},

		// Tasks (Plazbot §3.17–§3.19).
		{"GET /api/task", authRequired, s.handleTaskList},
		{"POST /api/task", authRequired, s.handleTaskCreate},
		{"PUT /api/task", authRequired, s.handleTaskUpdate},
		{"GET /api/task/{taskId}", authRequired, s.handleTaskGet},
		{"PUT /api/task/{taskId}", authRequired, s.handleTaskUpdate},
		{"DELETE /api/task/{taskId}", authRequired, s.handleTaskDelete},
		{"DELETE /api/task", authRequired, s.handleTaskDelete},

		// Tags and segmentations (Plaza's extension).
		{"GET /api/tag", authRequired, s.handleTagList},
		{"POST /api/tag", authRequired, s.handleTagCreate},
		{"PUT /api/tag/{tagId}", authRequired, s.handleTagUpdate},
		{"DELETE /api/tag/{tagId}", authRequired, s.handleTagDelete},
		{"GET /api/segmentation", authRequired, s.handleSegmentationList},
		{"POST /api/segmentation", authRequired, s.handleSegmentationCreate},
		{"PUT /api/segmentation/{segmentationId}", authRequired, s.handleSegmentationUpdate},
		{"DELETE /api/segmentation/{segmentationId}", authRequired, s.handleSegmentationDelete},

		// WhatsApp numbers (Plaza's extension) and Meta's webhook for all of
		// them (verification, and deliveries checked by their signature).
		{"POST /api/workspace/{workspaceId}/whatsapp/numbers", authRequired, s.handleWhatsAppNumberCreate},
		{"GET /api/workspace/{workspaceId}/whatsapp/numbers", authRequired, s.handleWhatsAppNumberList},
		{"DELETE /api/workspace/{workspaceId}/whatsapp/numbers/{numberId}", authRequired, s.handleWhatsAppNumberDelete},
		{"GET /webhooks/whatsapp", authNone, s.handleWhatsAppWebhookVerify},
		{"POST /webhooks/whatsapp", authSigned, s.handleWhatsAppWebhook},

		// Forwarding webhooks of a number (Plazbot §4.1; reads, deliveries
		// and replay are Plaza's extension).
		{"POST /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook", authRequired, s.handleWebhookSet},
		{"DELETE /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook", authRequired, s.handleWebhookDelete},
		{"GET /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook", authRequired, s.handleWebhookGet},
		{"GET /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook/deliveries", authRequired, s.handleWebhookDeliveries},
		{"POST /api/workspace/{workspaceId}/whatsapp/numbers/{number}/webhook/deliveries/{deliveryId}/replay", authRequired, s.handleWebhookReplay},

		// Messaging (Plazbot §3.10, §4): conversations and their messages.
		{"GET /api/message/conversation", authRequired, s.handleConversationList},
		{"GET /api/conversation", authRequired, s.handleConversationList},
		{"GET /api/message/get-all", authRequired, s.handleMessageList},
		{"GET /api/message/get-query-messages", authRequired, s.handleMessageSearch},

		// Messages (Plazbot §3.9).
		{"POST /api/message", authRequired, s.handleMessageSend},
		// Files (Plazbot §4 Send File) and the media of messages (Plaza's
		// extension).
		{"POST /api/message/files", authRequired, s.handleMessageFiles},
		{"GET /api/message/{messageId}/media", authRequired, s.handleMessageMedia},
		// Send Conversation (Plazbot §3.11): templates, and its alias.
		{"POST /api/message/conversation", authRequired, s.handleConversationSend},
		{"POST /api/conversation", authRequired, s.handleConversationSend},
		// Campaigns (Plaza's extension): a Send Conversation of many
		// destinations, fanned out by the queue.
		{"GET /api/conversation/campaign/{campaignId}", authRequired, s.handleCampaignGet},

		// Templates (Plazbot §4; sync is Plaza's extension).
		{"POST /api/template", authRequired, s.handleTemplateCreate},
		{"GET /api/template/actives", authRequired, s.handleTemplateActives},
		{"POST /api/template/sync", authRequired, s.handleTemplateSync},

		// Web chat (Plaza's extension): the widget script, and the public
		// endpoints of its visitors (CORS for any origin; a visitor token
		// from the session names their one conversation).
		{"GET /widget.js", authNone, s.handleWidgetJS},
		{"POST /widget/session", authVisitor, s.handleWebchatSession},
		{"OPTIONS /widget/session", authVisitor, s.handleWebchatPreflight},
		{"POST /widget/messages", authVisitor, s.handleWebchatMessagePost},
		{"GET /widget/messages", authVisitor, s.handleWebchatMessageList},
		{"OPTIONS /widget/messages", authVisitor, s.handleWebchatPreflight},
		{"GET /widget/events", authVisitor, s.handleWebchatEvents},
		{"OPTIONS /widget/events", authVisitor, s.handleWebchatPreflight},

		// Events (Plaza's extension): the workspace's changes as Server-Sent
		// Events.
		{"GET /api/events", authRequired, s.handleEvents},
		// AI agents (Plazbot §4, as its SDK calls them) and their knowledge
		// files. POST /api/agent/on-message is the agent runtime's.
		{"POST /api/agent/add", authRequired, s.handleAgentAdd},
		{"POST /api/agent/update", authRequired, s.handleAgentUpdate},
		{"GET /api/agent/get-agent", authRequired, s.handleAgentGet},
		{"GET /api/agent/get-agents", authRequired, s.handleAgentList},
		{"DELETE /api/agent/delete", authRequired, s.handleAgentDelete},
		{"POST /api/agent/copy-agent", authRequired, s.handleAgentCopy},
		{"POST /api/agent/enable-widget", authRequired, s.handleAgentEnableWidget},
		{"POST /api/agent/set-instructions", authRequired, s.handleAgentSet},
		{"POST /api/agent/set-greeting", authRequired, s.handleAgentSet},
		{"POST /api/agent/set-persona", authRequired, s.handleAgentSet},
		{"POST /api/agent/set-fallbacks", authRequired, s.handleAgentSet},
		{"POST /api/agent/set-rules", authRequired, s.handleAgentSet},
		{"POST /api/agent/set-tags", authRequired, s.handleAgentSet},
		{"POST /api/agent/add-file", authRequired, s.handleAgentFileAdd},
		{"POST /api/agent/add-file-direct", authUpload, s.handleAgentFileAddDirect},
		{"GET /api/agent/validate-file", authRequired, s.handleAgentFileValidate},
		{"DELETE /api/agent/delete-file", authRequired, s.handleAgentFileDelete},
		// Automations (Plaza's extension) and Plazbot's Update Agente IA
		// Prompt (§3.1).
		{"GET /api/automation", authRequired, s.handleAutomationList},
		{"POST /api/automation", authRequired, s.handleAutomationCreate},
		{"GET /api/automation/{automationId}", authRequired, s.handleAutomationGet},
		{"PUT /api/automation/{automationId}", authRequired, s.handleAutomationUpdate},
		{"DELETE /api/automation/{automationId}", authRequired, s.handleAutomationDelete},
		{"POST /api/automation/node/{nodeId}/prompt", authRequired, s.handleNodePromptUpdate},
		// AI agents: chatting with one over the API (Plazbot's on-message).
		{"POST /api/agent/on-message", authRequired, s.handleAgentOnMessage},
		// The agent's handoff state of a conversation (Plaza's extension).
		{"GET /api/message/conversation/{conversationId}/handoff", authRequired, s.handleHandoffGet},
		{"PUT /api/message/conversation/{conversationId}/handoff", authRequired, s.handleHandoffSet},
		// A workspace's own LLM (Plaza's extension).
		{"GET /api/workspace/{workspaceId}/agents/llm", authRequired, s.handleLLMSettingsGet},
		{"PUT /api/workspace/{workspaceId}/agents/llm", authRequired, s.handleLLMSettingsSet},
		{"DELETE /api/workspace/{workspaceId}/agents/llm", authRequired, s.handleLLMSettingsDelete},

		// API keys (Plaza's extension).
		// The workspace is the request's (x-workspace-id or the key's own).
		{"POST /api/apikey", authRequired, s.handleAPIKeyCreate},
		{"GET /api/apikey", authRequired, s.handleAPIKeyList},
		{"DELETE /api/apikey/{keyId}", authRequired, s.handleAPIKeyRevoke},
	}
}

// Patterns returns the pattern of every route the server serves, for the
// test that keeps the OpenAPI document equal to the surface.
func (s *Server) Patterns() []string {
	var ps []string
	for _, rt := range s.routeTable() {
		ps = append(ps, rt.pattern)
	}
	return append(ps, "GET /metrics")
}

func (s *Server) routes() {
	for _, rt := range s.routeTable() {
		if rt.auth == authVisitor {
			s.mux.Handle(rt.pattern, visitorCORS(s.endpoint(authNone, rt.handler)))
			continue
		}
		s.mux.Handle(rt.pattern, s.endpoint(rt.auth, rt.handler))
	}
	// Prometheus's text format, not an envelope.
	s.mux.Handle("GET /metrics", s.metrics.handler)
}
