package plaza

import "encoding/json"

// Message is one message of a conversation, inbound or outbound, in
// Plazbot's shape (reference §3.9 and get-query-messages) with Plaza's
// delivery fields. platformId is a string here, as Plazbot sends it.
type Message struct {
	ID                  string  `json:"id"`
	MessageWhatsappID   *string `json:"messageWhatsappId"` // WhatsApp's wamid
	ContactID           string  `json:"contactId"`
	ConversationID      string  `json:"conversationId"`
	WorkspaceID         string  `json:"workspaceId"`
	Content             string  `json:"content"`
	RecipientPhone      *string `json:"recipientPhone"`
	ExternalReferenceID *string `json:"externalReferenceId"`
	PlatformID          string  `json:"platformId"`   // "2" WhatsApp, "1" web chat
	PlatformType        string  `json:"platformType"` // "whatsapp", "webchat"
	AnswerAgentID       *string `json:"answerAgentId"`
	AnswerType          *string `json:"answerType"` // "human", "ai", "api"
	Type                string  `json:"type"`       // text, image, template, ...
	From                string  `json:"from"`       // the sender's phone, or the business number
	Timestamp           Time    `json:"timestamp"`
	Files               []any   `json:"files"`

	// Plaza's own.
	Direction    string          `json:"direction"` // "in" or "out"
	Status       *string         `json:"status"`    // out: queued, sent, delivered, read, failed
	Error        *MessageError   `json:"error"`     // Meta's error of a failed send
	TemplateName *string         `json:"templateName"`
	Payload      json.RawMessage `json:"payload"` // what Meta sent or was sent, as is
	CreationDate Time            `json:"creationDate"`
}

// MessageError is Meta's error of a failed message, as its status webhook
// or the Graph API reported it.
type MessageError struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Details string `json:"details"`
}

// Conversation is the thread between a contact and one channel of the
// workspace, in Plazbot's List Conversation shape (reference §3.10), with
// Plaza's fields. The template fields describe the last template sent in
// it, null when none was.
type Conversation struct {
	ID                     string  `json:"id"`
	ContactID              string  `json:"contactId"`
	WorkspaceID            string  `json:"workspaceId"`
	InternalWhatsappNumber *string `json:"internalWhatsappNumber"`
	PlatformSenderID       *string `json:"platformSenderId"`
	PlatformSenderName     string  `json:"platformSenderName"`
	PlatformSenderPhone    *string `json:"platformSenderPhone"`
	WorkspaceName          string  `json:"workspaceName"`
	TemplateCode           *string `json:"templateCode"`
	TemplateType           *string `json:"templateType"`
	Type                   *int    `json:"type"` // sendType of the last template send
	CampaignName           *string `json:"campaignName"`
	AgentSenderID          *string `json:"agentSenderId"`
	RequestBody            *string `json:"requestBody"`
	ResponseBody           *string `json:"responseBody"`
	ResponseStatus         *string `json:"responseStatus"`
	CreationDate           Time    `json:"creationDate"`

	// Plaza's own.
	Channel         string  `json:"channel"` // "whatsapp" or "webchat"
	LastMessage     *string `json:"lastMessage"`
	LastMessageDate *Time   `json:"lastMessageDate"`
	// WindowExpiresAt is when the 24-hour customer service window closes;
	// free-form messages can be sent until then.
	WindowExpiresAt *Time `json:"windowExpiresAt"`
	UpdatedDate     Time  `json:"updatedDate"`
}
