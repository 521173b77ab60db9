package whatsapp

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// ignoreRaw compares the typed fields; Raw is checked on its own.
var ignoreRaw = cmpopts.IgnoreFields(Message{}, "Raw")

func TestParse_InboundMessages(t *testing.T) {
	ctx := &MessageContext{From: "15550001234"}
	withContext := func(id string) *MessageContext { c := *ctx; c.ID = id; return &c }
	tests := []struct {
		file    string
		want    Message
		summary string
	}{
		{"text.json", Message{From: "15557654321", ID: "wamid.TEST_IN_TEXT_0001", Timestamp: 1795791600, Type: "text",
			Text: &Text{Body: "Hola, ¿tienen el sofá Oslo en color azul?"}},
			"Hola, ¿tienen el sofá Oslo en color azul?"},
		{"image.json", Message{From: "15557654321", ID: "wamid.TEST_IN_IMAGE_0001", Timestamp: 1795791660, Type: "image",
			Image: &Attachment{ID: "1000000000000101", MimeType: "image/jpeg", SHA256: "srNC4HU6ZAPpxfeTqDdgKpnVrhtVjNdwECQkkRgOOWA=", Caption: "Así quedó la sala",
				URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000101&ext=1795791660&hash=ATtestFAKEhash0101"}},
			"Así quedó la sala"},
		{"audio.json", Message{From: "15557654321", ID: "wamid.TEST_IN_AUDIO_0001", Timestamp: 1795791720, Type: "audio",
			Audio: &Attachment{ID: "1000000000000102", MimeType: "audio/ogg; codecs=opus", SHA256: "1AytbtWPj+ExdMdEorgDv9g4jSA+aHulU18ac1NGKsA=", Voice: true,
				URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000102&ext=1795791720&hash=ATtestFAKEhash0102"}},
			"[voice note]"},
		{"video.json", Message{From: "15557654321", ID: "wamid.TEST_IN_VIDEO_0001", Timestamp: 1795791780, Type: "video",
			Video: &Attachment{ID: "1000000000000103", MimeType: "video/mp4", SHA256: "itjzYywxrf0GAyd2ZURVTUsZh0mlXELCrOyBOpwPvkQ=", Caption: "El ruido que hace el reclinable",
				URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000103&ext=1795791780&hash=ATtestFAKEhash0103"}},
			"El ruido que hace el reclinable"},
		{"document.json", Message{From: "15557654321", ID: "wamid.TEST_IN_DOCUMENT_0001", Timestamp: 1795791840, Type: "document",
			Document: &Attachment{ID: "1000000000000104", MimeType: "application/pdf", SHA256: "bdwItHuVHwpc8xhoWhZUcIYxJ6JMW2OHfhSe9EXMHdE=",
				Caption: "Mi comprobante de pago", Filename: "comprobante-4521.pdf",
				URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000104&ext=1795791840&hash=ATtestFAKEhash0104"}},
			"Mi comprobante de pago"},
		{"sticker.json", Message{From: "15557654321", ID: "wamid.TEST_IN_STICKER_0001", Timestamp: 1795791900, Type: "sticker",
			Sticker: &Attachment{ID: "1000000000000105", MimeType: "image/webp", SHA256: "w01HLmsap9hOE/h3vYZwvYuJAKT/7Z1Ga1/qF57U4mQ=",
				URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1000000000000105&ext=1795791900&hash=ATtestFAKEhash0105"}},
			"[sticker]"},
		{"location.json", Message{From: "15557654321", ID: "wamid.TEST_IN_LOCATION_0001", Timestamp: 1795791960, Type: "location",
			Location: &Location{Latitude: -12.1236421, Longitude: -77.0297138, Name: "Plaza Muebles Miraflores",
				Address: "Av. José Larco 1232, Miraflores, Lima", URL: "https://example.com/tiendas/miraflores"}},
			"[location] Plaza Muebles Miraflores"},
		{"contacts.json", Message{From: "15557654321", ID: "wamid.TEST_IN_CONTACTS_0001", Timestamp: 1795792020, Type: "contacts",
			Contacts: []ContactCard{{
				Name:   ContactName{FormattedName: "Andrea Quispe", FirstName: "Andrea", LastName: "Quispe"},
				Org:    &ContactOrg{Company: "Estudio Quispe"},
				Phones: []ContactPhone{{Phone: "+1 (555) 010-2233", WaID: "15550102233", Type: "MOBILE"}},
				Emails: []ContactEmail{{Email: "andrea.quispe@example.com", Type: "WORK"}},
			}}},
			"[contact] Andrea Quispe"},
		{"reaction.json", Message{From: "15557654321", ID: "wamid.TEST_IN_REACTION_0001", Timestamp: 1795792080, Type: "reaction",
			Reaction: &Reaction{MessageID: "wamid.TEST_OUT_0001", Emoji: "👍"}},
			"👍"},
		{"interactive_button_reply.json", Message{From: "15557654321", ID: "wamid.TEST_IN_BUTTON_REPLY_0001", Timestamp: 1795792140, Type: "interactive",
			Context:     withContext("wamid.TEST_OUT_BUTTONS_0001"),
			Interactive: &InteractiveReply{Type: "button_reply", ButtonReply: &Reply{ID: "confirm-visit", Title: "Confirmar"}}},
			"Confirmar"},
		{"interactive_list_reply.json", Message{From: "15557654321", ID: "wamid.TEST_IN_LIST_REPLY_0001", Timestamp: 1795792200, Type: "interactive",
			Context:     withContext("wamid.TEST_OUT_LIST_0001"),
			Interactive: &InteractiveReply{Type: "list_reply", ListReply: &Reply{ID: "delivery_express", Title: "Envío express", Description: "Entrega en 24 a 48 horas"}}},
			"Envío express"},
		{"button_template_quick_reply.json", Message{From: "15557654321", ID: "wamid.TEST_IN_QUICK_REPLY_0001", Timestamp: 1795792260, Type: "button",
			Context: withContext("wamid.TEST_OUT_TEMPLATE_0001"),
			Button:  &QuickReply{Payload: "Cancelar reserva", Text: "Cancelar reserva"}},
			"Cancelar reserva"},
		{"unsupported.json", Message{From: "15557654321", ID: "wamid.TEST_IN_UNSUPPORTED_0001", Timestamp: 1795792320, Type: "unsupported",
			Unsupported: &Unsupported{Type: "poll_creation"},
			Errors: []WebhookError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
				ErrorData: ErrorData{Details: "Message type is currently not supported."}}}},
			"[unsupported]"},
		{"text_with_context_reply.json", Message{From: "15557654321", ID: "wamid.TEST_IN_TEXT_REPLY_0001", Timestamp: 1795792380, Type: "text",
			Context: withContext("wamid.TEST_OUT_0003"),
			Text:    &Text{Body: "Sí, el sábado a las 10 me queda bien"}},
			"Sí, el sábado a las 10 me queda bien"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixture(t, "inbound/"+tt.file)
			n, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			v := tenantA(t, n)
			if len(v.Messages) != 1 || len(v.Statuses) != 0 {
				t.Fatalf("got %d messages, %d statuses; want 1, 0", len(v.Messages), len(v.Statuses))
			}
			m := v.Messages[0]
			if diff := cmp.Diff(tt.want, m, ignoreRaw); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
			checkRaw(t, body, m.Raw, m.ID)
			if got := Summary(m); got != tt.summary {
				t.Errorf("Summary = %q, want %q", got, tt.summary)
			}
			if got, want := m.Time(), time.Unix(int64(tt.want.Timestamp), 0).UTC(); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("Time = %v, want %v", got, want)
			}
		})
	}
}

// tenantA checks the envelope shared by the fixtures of tenant A and
// returns the one messages value.
func tenantA(t *testing.T, n *Notification) *MessagesValue {
	t.Helper()
	if n.Object != "whatsapp_business_account" || len(n.Entry) != 1 || n.Entry[0].ID != testWABA || len(n.Entry[0].Changes) != 1 {
		t.Fatalf("envelope = %+v", n)
	}
	c := n.Entry[0].Changes[0]
	if c.Field != "messages" || c.Messages == nil || c.TemplateStatus != nil || len(c.Value) == 0 {
		t.Fatalf("change = %+v", c)
	}
	v := c.Messages
	want := Metadata{DisplayPhoneNumber: "15550001234", PhoneNumberID: testPhoneID}
	if v.MessagingProduct != "whatsapp" || v.Metadata != want {
		t.Errorf("value = %q %+v, want whatsapp %+v", v.MessagingProduct, v.Metadata, want)
	}
	if len(v.Messages) > 0 {
		wantContacts := []Contact{{Profile: Profile{Name: "Lucía Fernández"}, WaID: "15557654321"}}
		if diff := cmp.Diff(wantContacts, v.Contacts); diff != "" {
			t.Errorf("contacts mismatch (-want +got):\n%s", diff)
		}
	}
	return v
}

// checkRaw checks that raw is the object with that id exactly as it
// appears in the delivered bytes, \u escapes and all.
func checkRaw(t *testing.T, body, raw []byte, id string) {
	t.Helper()
	if len(raw) == 0 || raw[0] != '{' || !bytes.Contains(body, raw) {
		t.Errorf("Raw is not a verbatim object of the body: %s", raw)
	}
	var probe struct{ ID string }
	if err := json.Unmarshal(raw, &probe); err != nil || probe.ID != id {
		t.Errorf("Raw holds id %q (%v), want %q", probe.ID, err, id)
	}
}

func TestParse_TextTime(t *testing.T) {
	n, err := Parse(fixture(t, "inbound/text.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := n.Entry[0].Changes[0].Messages.Messages[0]
	if want := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC); !m.Time().Equal(want) {
		t.Errorf("Time = %v, want %v", m.Time(), want)
	}
	if !bytes.Contains(m.Raw, []byte(`\u00bftienen el sof\u00e1`)) {
		t.Errorf("Raw lost Meta's escapes: %s", m.Raw)
	}
}

func TestParse_Batches(t *testing.T) {
	t.Run("MultipleMessages", func(t *testing.T) {
		body := fixture(t, "inbound/multiple_messages_one_delivery.json")
		n, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		v := tenantA(t, n)
		want := []Message{
			{From: "15557654321", ID: "wamid.TEST_IN_BURST_0001", Timestamp: 1795792440, Type: "text", Text: &Text{Body: "Hola"}},
			{From: "15557654321", ID: "wamid.TEST_IN_BURST_0002", Timestamp: 1795792442, Type: "text", Text: &Text{Body: "¿hacen envíos a Arequipa?"}},
		}
		if diff := cmp.Diff(want, v.Messages, ignoreRaw); diff != "" {
			t.Errorf("messages mismatch (-want +got):\n%s", diff)
		}
		for _, m := range v.Messages {
			checkRaw(t, body, m.Raw, m.ID)
		}
	})
	t.Run("TwoNumbers", func(t *testing.T) {
		body := fixture(t, "inbound/two_numbers_one_delivery.json")
		n, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		type routed struct {
			WABA, PhoneNumberID, Display, Contact, WaID, MessageID, Body string
		}
		var got []routed
		for _, e := range n.Entry {
			for _, c := range e.Changes {
				v := c.Messages
				for _, m := range v.Messages {
					got = append(got, routed{e.ID, v.Metadata.PhoneNumberID, v.Metadata.DisplayPhoneNumber, v.Contacts[0].Profile.Name, v.Contacts[0].WaID, m.ID, m.Text.Body})
				}
			}
		}
		want := []routed{
			{"100200300400500", "100200300400501", "15550001234", "Lucía Fernández", "15557654321", "wamid.TEST_IN_TENANT_A_0001", "Quiero agendar una visita"},
			{"100200300400600", "100200300400601", "15550005678", "Marco Ruiz", "15559876543", "wamid.TEST_IN_TENANT_B_0001", "Buenas tardes, ¿siguen abiertos?"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("routing mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestParse_Statuses(t *testing.T) {
	pricing := &Pricing{Billable: false, PricingModel: "PMP", Type: "free_customer_service", Category: "service"}
	tests := []struct {
		file string
		want Status
	}{
		{"sent.json", Status{ID: "wamid.TEST_OUT_0001", Status: "sent", Timestamp: 1795791630, RecipientID: "15557654321",
			BizOpaqueCallbackData: outboxToken,
			Conversation:          &Conversation{ID: "7e57c0de7e57c0de7e57c0de7e57c0de", ExpirationTimestamp: 1795878030, Origin: ConversationOrigin{Type: "service"}},
			Pricing:               pricing}},
		{"delivered.json", Status{ID: "wamid.TEST_OUT_0001", Status: "delivered", Timestamp: 1795791632, RecipientID: "15557654321",
			BizOpaqueCallbackData: outboxToken, Pricing: pricing}},
		{"read.json", Status{ID: "wamid.TEST_OUT_0001", Status: "read", Timestamp: 1795791695, RecipientID: "15557654321",
			BizOpaqueCallbackData: outboxToken}},
		{"failed_131047.json", Status{ID: "wamid.TEST_OUT_0004", Status: "failed", Timestamp: 1795881600, RecipientID: "15557654321",
			Errors: []WebhookError{{Code: 131047, Title: "Re-engagement message", Message: "Re-engagement message",
				ErrorData: ErrorData{Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
				Href:      "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}}},
		{"failed_131026.json", Status{ID: "wamid.TEST_OUT_0005", Status: "failed", Timestamp: 1795792800, RecipientID: "15550009999",
			Errors: []WebhookError{{Code: 131026, Title: "Message undeliverable", Message: "Message undeliverable",
				ErrorData: ErrorData{Details: "Message Undeliverable."},
				Href:      "/documentation/business-messaging/whatsapp/support/error-codes"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixture(t, "status/"+tt.file)
			n, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			v := tenantA(t, n)
			if len(v.Statuses) != 1 || len(v.Messages) != 0 || len(v.Contacts) != 0 {
				t.Fatalf("got %d statuses, %d messages, %d contacts", len(v.Statuses), len(v.Messages), len(v.Contacts))
			}
			s := v.Statuses[0]
			if diff := cmp.Diff(tt.want, s, cmpopts.IgnoreFields(Status{}, "Raw")); diff != "" {
				t.Errorf("status mismatch (-want +got):\n%s", diff)
			}
			checkRaw(t, body, s.Raw, s.ID)
			if !s.Time().Equal(time.Unix(int64(tt.want.Timestamp), 0)) {
				t.Errorf("Time = %v", s.Time())
			}
		})
	}
}

func TestParse_TemplateStatusUpdates(t *testing.T) {
	tests := []struct {
		file     string
		wantTime int64
		want     TemplateStatusUpdate
	}{
		{"template_status_update_approved.json", 1795795200, TemplateStatusUpdate{
			Event: "APPROVED", MessageTemplateID: 1000000000000501, MessageTemplateName: "reservation_confirmation",
			MessageTemplateLanguage: "es", Reason: "NONE", MessageTemplateCategory: "UTILITY"}},
		{"template_status_update_rejected.json", 1795795300, TemplateStatusUpdate{
			Event: "REJECTED", MessageTemplateID: 1000000000000502, MessageTemplateName: "black_friday_promo",
			MessageTemplateLanguage: "es", Reason: "INVALID_FORMAT", MessageTemplateCategory: "MARKETING",
			RejectionInfo: &RejectionInfo{
				Reason:         "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
				Recommendation: "Separate parameters with descriptive text and ensure each parameter is clearly contextualized.",
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			n, err := Parse(fixture(t, "other/"+tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if n.Object != "whatsapp_business_account" || len(n.Entry) != 1 || n.Entry[0].ID != testWABA || len(n.Entry[0].Changes) != 1 {
				t.Fatalf("envelope = %+v", n)
			}
			e := n.Entry[0]
			if int64(e.Time) != tt.wantTime {
				t.Errorf("entry time = %d, want %d", e.Time, tt.wantTime)
			}
			c := e.Changes[0]
			if c.Field != "message_template_status_update" || c.Messages != nil || c.TemplateStatus == nil {
				t.Fatalf("change = %+v", c)
			}
			if diff := cmp.Diff(tt.want, *c.TemplateStatus); diff != "" {
				t.Errorf("template status mismatch (-want +got):\n%s", diff)
			}
		})
	}
	n, _ := Parse(fixture(t, "other/template_status_update_approved.json"))
	if got := n.Entry[0].Changes[0].TemplateStatus.TemplateID(); got != "1000000000000501" {
		t.Errorf("TemplateID = %q, want the Graph API's string id", got)
	}
}

func TestParse_Variants(t *testing.T) {
	t.Run("ValueErrors", func(t *testing.T) {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"100200300400500","changes":[{"field":"messages","value":{
			"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100200300400501"},
			"errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong",
			  "error_data":{"details":"Unknown error."},"href":"https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}]}}]}]}`
		n, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		want := []WebhookError{{Code: 131000, Title: "Something went wrong", Message: "Something went wrong",
			ErrorData: ErrorData{Details: "Unknown error."}, Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}
		if diff := cmp.Diff(want, tenantA(t, n).Errors); diff != "" {
			t.Errorf("errors mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("OtherFieldKeptRaw", func(t *testing.T) {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"100200300400500","time":1795795400,"changes":[
			{"field":"phone_number_quality_update","value":{"display_phone_number":"15550001234","event":"FLAGGED","current_limit":"TIER_1K"}}]}]}`
		n, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		c := n.Entry[0].Changes[0]
		if c.Field != "phone_number_quality_update" || c.Messages != nil || c.TemplateStatus != nil {
			t.Fatalf("change = %+v", c)
		}
		if diff := cmp.Diff(decodeJSON(t, []byte(`{"display_phone_number":"15550001234","event":"FLAGGED","current_limit":"TIER_1K"}`)), decodeJSON(t, c.Value)); diff != "" {
			t.Errorf("value mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("ReactionRemoved", func(t *testing.T) {
		body := bytes.Replace(fixture(t, "inbound/reaction.json"), []byte(`,
                  "emoji": "\ud83d\udc4d"`), nil, 1)
		n, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		m := n.Entry[0].Changes[0].Messages.Messages[0]
		if m.Reaction == nil || !m.Reaction.Removed() || m.Reaction.MessageID != "wamid.TEST_OUT_0001" {
			t.Errorf("reaction = %+v, want removed from wamid.TEST_OUT_0001", m.Reaction)
		}
		if got := Summary(m); got != "[reaction removed]" {
			t.Errorf("Summary = %q", got)
		}
	})
	t.Run("OlderUnknownType", func(t *testing.T) {
		body := bytes.Replace(fixture(t, "inbound/unsupported.json"), []byte(`"type": "unsupported",`), []byte(`"type": "unknown",`), 1)
		n, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		m := n.Entry[0].Changes[0].Messages.Messages[0]
		if m.Type != "unknown" || !m.IsUnsupported() || len(m.Errors) != 1 || m.Errors[0].Code != 131051 {
			t.Errorf("message = %+v, want an unsupported one with error 131051", m)
		}
		if got := Summary(m); got != "[unsupported]" {
			t.Errorf("Summary = %q", got)
		}
	})
	t.Run("MediaWithoutURL", func(t *testing.T) {
		body := `{"object":"whatsapp_business_account","entry":[{"id":"100200300400500","changes":[{"field":"messages","value":{
			"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001234","phone_number_id":"100200300400501"},
			"contacts":[{"profile":{"name":"Luc\u00eda Fern\u00e1ndez"},"wa_id":"15557654321"}],
			"messages":[{"from":"15557654321","id":"wamid.TEST_IN_IMAGE_0002","timestamp":"1795791661","type":"image",
			  "image":{"mime_type":"image/jpeg","sha256":"abc=","id":"1000000000000106"}}]}}]}]}`
		n, err := Parse([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		m := tenantA(t, n).Messages[0]
		want := &Attachment{ID: "1000000000000106", MimeType: "image/jpeg", SHA256: "abc="}
		if diff := cmp.Diff(want, m.Attachment()); diff != "" {
			t.Errorf("attachment mismatch (-want +got):\n%s", diff)
		}
		if got := Summary(m); got != "[image]" {
			t.Errorf("Summary = %q, want [image]", got)
		}
	})
}

func TestParse_Invalid(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"Empty", ""},
		{"NotJSON", "hub.mode=subscribe"},
		{"Array", "[]"},
		{"Null", "null"},
		{"NoObject", `{"entry":[]}`},
		{"OtherObject", `{"object":"page","entry":[]}`},
		{"TimestampNotNumeric", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":
			{"messages":[{"from":"1","id":"wamid.X","timestamp":"yesterday","type":"text","text":{"body":"hola"}}]}}]}]}`},
		{"LatitudeAsString", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":
			{"messages":[{"from":"1","id":"wamid.X","timestamp":"1","type":"location","location":{"latitude":"-12.1","longitude":-77}}]}}]}]}`},
		{"TemplateIDNotANumber", `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"message_template_status_update","value":
			{"event":"APPROVED","message_template_id":"abc"}}]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := Parse([]byte(tt.body)); err == nil {
				t.Errorf("Parse succeeded: %+v", n)
			}
		})
	}
}

func TestSummary_Fallbacks(t *testing.T) {
	tests := []struct {
		name string
		m    Message
		want string
	}{
		{"ImageWithoutCaption", Message{Type: "image", Image: &Attachment{ID: "1"}}, "[image]"},
		{"VideoWithoutCaption", Message{Type: "video", Video: &Attachment{ID: "1"}}, "[video]"},
		{"AudioNotVoice", Message{Type: "audio", Audio: &Attachment{ID: "1"}}, "[audio]"},
		{"DocumentFilenameOnly", Message{Type: "document", Document: &Attachment{ID: "1", Filename: "plano.pdf"}}, "[document] plano.pdf"},
		{"DocumentBare", Message{Type: "document", Document: &Attachment{ID: "1"}}, "[document]"},
		{"LocationAddressOnly", Message{Type: "location", Location: &Location{Address: "Av. Primavera 2050"}}, "[location] Av. Primavera 2050"},
		{"LocationPinOnly", Message{Type: "location", Location: &Location{Latitude: -12.1236421, Longitude: -77.0297138}}, "[location] -12.1236421,-77.0297138"},
		{"TwoContacts", Message{Type: "contacts", Contacts: []ContactCard{
			{Name: ContactName{FormattedName: "Andrea Quispe"}}, {Name: ContactName{FirstName: "Marco", LastName: "Ruiz"}}}}, "[contacts] Andrea Quispe, Marco Ruiz"},
		{"ButtonPayloadOnly", Message{Type: "button", Button: &QuickReply{Payload: "CONFIRM"}}, "CONFIRM"},
		{"InteractiveFlowReply", Message{Type: "interactive", Interactive: &InteractiveReply{Type: "nfm_reply"}}, "[interactive]"},
		{"Order", Message{Type: "order"}, "[order]"},
		{"TextWithoutBody", Message{Type: "text"}, "[text]"},
		{"NoType", Message{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summary(tt.m); got != tt.want {
				t.Errorf("Summary = %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"inbound", "status", "other"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":null}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"interactive","interactive":{}}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		VerifySignature(testAppSecret, body, string(body))
		n, err := Parse(body)
		if err != nil {
			return
		}
		for _, e := range n.Entry {
			_ = e.Time.Time()
			for _, c := range e.Changes {
				if c.TemplateStatus != nil {
					_ = c.TemplateStatus.TemplateID()
				}
				if c.Messages == nil {
					continue
				}
				for _, m := range c.Messages.Messages {
					_ = Summary(m)
					_ = m.Time()
					_ = m.Attachment()
					if m.Interactive != nil {
						_ = m.Interactive.Reply()
					}
					if !json.Valid(m.Raw) {
						t.Errorf("Raw is not JSON: %q", m.Raw)
					}
				}
				for _, s := range c.Messages.Statuses {
					_, _ = Advance(StatusSent, s.Status)
					_ = s.Time()
				}
			}
		}
	})
}
