package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The values of the send fixtures.
const (
	lucia       = "+15557654321"
	textBody    = "¡Hola Lucía! Sí, el sofá Oslo está disponible en azul. ¿Te reservo uno?"
	outboxToken = "plaza:outbox:01JDTEST0000000000000000001"
)

func visitButtons() ButtonsMessage {
	return ButtonsMessage{
		Header: TextHeader("Tu visita a la tienda"),
		Body:   "Hola Lucía, tu visita a Plaza Muebles Miraflores es el sábado a las 10:00. ¿La confirmas?",
		Footer: "Plaza Muebles",
		Buttons: []ReplyButton{
			{ID: "confirm-visit", Title: "Confirmar"},
			{ID: "reschedule-visit", Title: "Cambiar horario"},
			{ID: "cancel-visit", Title: "Cancelar"},
		},
	}
}

func deliveryList() ListMessage {
	return ListMessage{
		Header: TextHeader("Opciones de entrega"),
		Body:   "¿Cómo prefieres recibir tu pedido?",
		Footer: "Plaza Muebles",
		Button: "Ver opciones",
		Sections: []ListSection{
			{Title: "Envío a domicilio", Rows: []ListRow{
				{ID: "delivery_express", Title: "Envío express", Description: "Entrega en 24 a 48 horas"},
				{ID: "delivery_standard", Title: "Envío estándar", Description: "Entrega en 3 a 5 días"},
			}},
			{Title: "Recojo en tienda", Rows: []ListRow{
				{ID: "pickup_miraflores", Title: "Miraflores", Description: "Av. José Larco 1232"},
				{ID: "pickup_surco", Title: "Surco", Description: "Av. Primavera 2050"},
			}},
		},
	}
}

func reservationTemplate() Template {
	return Template{
		Name:     "reservation_confirmation",
		Language: "es",
		Components: []Component{
			{Type: "header", Parameters: []Parameter{
				{Type: "image", Image: &MediaRef{Link: "https://cdn.example.com/plaza/tiendas/miraflores.jpg"}},
			}},
			{Type: "body", Parameters: []Parameter{
				{Type: "text", ParameterName: "first_name", Text: "Lucía"},
				{Type: "text", ParameterName: "store", Text: "Miraflores"},
				{Type: "text", ParameterName: "date", Text: "sábado 28 de noviembre"},
				{Type: "text", ParameterName: "time", Text: "10:00"},
			}},
		},
	}
}

// TestClient_Send checks every send shape: the body the client posts must
// equal the fixture request (or Meta's documented shape) as JSON.
func TestClient_Send(t *testing.T) {
	tests := []struct {
		name string
		send func(c *Client) (SendResult, error)
		// want is a fixture file name, or the expected JSON itself.
		want string
	}{
		{
			name: "TextFixture",
			send: func(c *Client) (SendResult, error) {
				return c.SendText(context.Background(), testPhoneID, testToken, lucia, textBody,
					TextOptions{BizOpaqueCallbackData: outboxToken})
			},
			want: "send/request_text.json",
		},
		{
			name: "TextReplyWithPreview",
			send: func(c *Client) (SendResult, error) {
				return c.SendText(context.Background(), testPhoneID, testToken, lucia, "Mira https://example.com",
					TextOptions{PreviewURL: true, ReplyTo: "wamid.TEST_IN_TEXT_0001"})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"text",
				"context":{"message_id":"wamid.TEST_IN_TEXT_0001"},
				"text":{"preview_url":true,"body":"Mira https://example.com"}}`,
		},
		{
			name: "ImageByLinkFixture",
			send: func(c *Client) (SendResult, error) {
				return c.SendMedia(context.Background(), testPhoneID, testToken, lucia, Media{
					Type: "image", Link: "https://cdn.example.com/plaza/catalogo/sofa-oslo-azul.jpg", Caption: "Sofá Oslo en azul petróleo",
				})
			},
			want: "send/request_image_by_link.json",
		},
		{
			name: "DocumentByID",
			send: func(c *Client) (SendResult, error) {
				return c.SendMedia(context.Background(), testPhoneID, testToken, lucia, Media{
					Type: "document", ID: "1000000000000901", Caption: "Tu boleta", Filename: "boleta-4521.pdf",
					BizOpaqueCallbackData: outboxToken,
				})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"document",
				"biz_opaque_callback_data":"plaza:outbox:01JDTEST0000000000000000001",
				"document":{"id":"1000000000000901","caption":"Tu boleta","filename":"boleta-4521.pdf"}}`,
		},
		{
			name: "AudioByID",
			send: func(c *Client) (SendResult, error) {
				return c.SendMedia(context.Background(), testPhoneID, testToken, lucia, Media{Type: "audio", ID: "1000000000000902"})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"audio","audio":{"id":"1000000000000902"}}`,
		},
		{
			name: "VideoReply",
			send: func(c *Client) (SendResult, error) {
				return c.SendMedia(context.Background(), testPhoneID, testToken, lucia, Media{
					Type: "video", ID: "1000000000000903", Caption: "Así se arma", ReplyTo: "wamid.TEST_IN_VIDEO_0001",
				})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"video",
				"context":{"message_id":"wamid.TEST_IN_VIDEO_0001"},"video":{"id":"1000000000000903","caption":"Así se arma"}}`,
		},
		{
			name: "StickerByLink",
			send: func(c *Client) (SendResult, error) {
				return c.SendMedia(context.Background(), testPhoneID, testToken, lucia, Media{Type: "sticker", Link: "https://cdn.example.com/s.webp"})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"sticker","sticker":{"link":"https://cdn.example.com/s.webp"}}`,
		},
		{
			name: "InteractiveButtonsFixture",
			send: func(c *Client) (SendResult, error) {
				return c.SendInteractiveButtons(context.Background(), testPhoneID, testToken, lucia, visitButtons())
			},
			want: "send/request_interactive_buttons.json",
		},
		{
			name: "InteractiveButtonsImageHeader",
			send: func(c *Client) (SendResult, error) {
				return c.SendInteractiveButtons(context.Background(), testPhoneID, testToken, lucia, ButtonsMessage{
					Header:  &Header{Type: "image", Media: &MediaRef{ID: "1000000000000901"}},
					Body:    "¿Te gusta?",
					Buttons: []ReplyButton{{ID: "yes", Title: "Sí"}},
				})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"+15557654321","type":"interactive",
				"interactive":{"type":"button","header":{"type":"image","image":{"id":"1000000000000901"}},
				"body":{"text":"¿Te gusta?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Sí"}}]}}}`,
		},
		{
			name: "InteractiveListFixture",
			send: func(c *Client) (SendResult, error) {
				return c.SendInteractiveList(context.Background(), testPhoneID, testToken, lucia, deliveryList())
			},
			want: "send/request_interactive_list.json",
		},
		{
			name: "TemplateNamedFixture",
			send: func(c *Client) (SendResult, error) {
				return c.SendTemplate(context.Background(), testPhoneID, testToken, "15557654321", reservationTemplate())
			},
			want: "send/request_template_with_header_image_and_body_params.json",
		},
		{
			name: "TemplatePositionalAllParameterKinds",
			send: func(c *Client) (SendResult, error) {
				return c.SendTemplate(context.Background(), testPhoneID, testToken, "15557654321", Template{
					Name: "order_update", Language: "es", BizOpaqueCallbackData: outboxToken,
					Components: []Component{
						{Type: "header", Parameters: []Parameter{{Type: "document", Document: &MediaRef{ID: "1000000000000901", Filename: "pedido.pdf"}}}},
						{Type: "body", Parameters: []Parameter{
							{Type: "text", Text: "Juan"},
							{Type: "currency", Currency: &Currency{FallbackValue: "$10", Code: "USD", Amount1000: 10000}},
							{Type: "date_time", DateTime: &DateTime{FallbackValue: "28 de noviembre"}},
						}},
						{Type: "button", SubType: "quick_reply", Index: 0, Parameters: []Parameter{{Type: "payload", Payload: "CONFIRM"}}},
						{Type: "button", SubType: "url", Index: 1, Parameters: []Parameter{{Type: "text", Text: "ord-4521"}}},
						{Type: "button", SubType: "copy_code", Index: 2, Parameters: []Parameter{{Type: "coupon_code", CouponCode: "PLAZA20"}}},
					},
				})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15557654321","type":"template",
				"biz_opaque_callback_data":"plaza:outbox:01JDTEST0000000000000000001",
				"template":{"name":"order_update","language":{"code":"es"},"components":[
				 {"type":"header","parameters":[{"type":"document","document":{"id":"1000000000000901","filename":"pedido.pdf"}}]},
				 {"type":"body","parameters":[{"type":"text","text":"Juan"},
				   {"type":"currency","currency":{"fallback_value":"$10","code":"USD","amount_1000":10000}},
				   {"type":"date_time","date_time":{"fallback_value":"28 de noviembre"}}]},
				 {"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"CONFIRM"}]},
				 {"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"ord-4521"}]},
				 {"type":"button","sub_type":"copy_code","index":"2","parameters":[{"type":"coupon_code","coupon_code":"PLAZA20"}]}]}}`,
		},
		{
			name: "TemplateVideoHeaderNoBody",
			send: func(c *Client) (SendResult, error) {
				return c.SendTemplate(context.Background(), testPhoneID, testToken, "15557654321", Template{
					Name: "promo_video", Language: "en_US",
					Components: []Component{{Type: "header", Parameters: []Parameter{{Type: "video", Video: &MediaRef{Link: "https://cdn.example.com/v.mp4"}}}}},
				})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15557654321","type":"template",
				"template":{"name":"promo_video","language":{"code":"en_US"},"components":[
				 {"type":"header","parameters":[{"type":"video","video":{"link":"https://cdn.example.com/v.mp4"}}]}]}}`,
		},
		{
			name: "TemplateWithoutParameters",
			send: func(c *Client) (SendResult, error) {
				return c.SendTemplate(context.Background(), testPhoneID, testToken, "15557654321", Template{Name: "hello_world", Language: "en_US"})
			},
			want: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"15557654321","type":"template",
				"template":{"name":"hello_world","language":{"code":"en_US"}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
			got, err := tt.send(c)
			if err != nil {
				t.Fatal(err)
			}
			want := SendResult{MessageID: "wamid.TEST_OUT_0001", WaID: "15557654321", Input: "+15557654321"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("SendResult mismatch (-want +got):\n%s", diff)
			}
			call := g.only(t)
			checkJSONRequest(t, call, "POST", "/"+testPhoneID+"/messages")
			wantBody := []byte(tt.want)
			if strings.HasSuffix(tt.want, ".json") {
				wantBody = fixture(t, tt.want)
			}
			diffJSON(t, wantBody, call.Body)
		})
	}
}

func TestClient_SendTemplate_MessageStatus(t *testing.T) {
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"messaging_product":"whatsapp","contacts":[{"input":"15557654321","wa_id":"15557654321"}],
			"messages":[{"id":"wamid.TEST_OUT_TEMPLATE_0001","message_status":"accepted"}]}`))
	})
	got, err := c.SendTemplate(context.Background(), testPhoneID, testToken, "15557654321", reservationTemplate())
	if err != nil {
		t.Fatal(err)
	}
	want := SendResult{MessageID: "wamid.TEST_OUT_TEMPLATE_0001", WaID: "15557654321", Input: "15557654321", MessageStatus: "accepted"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SendResult mismatch (-want +got):\n%s", diff)
	}
}

func TestClient_Send_NoMessageID(t *testing.T) {
	c, _ := newFakeGraph(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"messaging_product":"whatsapp","contacts":[],"messages":[]}`))
	})
	_, err := c.SendText(context.Background(), testPhoneID, testToken, lucia, "hola", TextOptions{})
	if err == nil {
		t.Fatal("SendText succeeded on an answer without a message id")
	}
}

// TestClient_Send_Invalid checks that what Meta would refuse is refused
// before any request, naming the field.
func TestClient_Send_Invalid(t *testing.T) {
	ctx := context.Background()
	tooManyRows := deliveryList()
	tooManyRows.Sections = append(tooManyRows.Sections, ListSection{Title: "Más", Rows: make([]ListRow, 7)})
	for i := range tooManyRows.Sections[2].Rows {
		tooManyRows.Sections[2].Rows[i] = ListRow{ID: "more_" + string(rune('a'+i)), Title: "Otra"}
	}
	elevenSections := ListMessage{Body: "b", Button: "Ver"}
	for i := range 11 {
		elevenSections.Sections = append(elevenSections.Sections, ListSection{Title: "s", Rows: []ListRow{{ID: string(rune('a' + i)), Title: "r"}}})
	}

	tests := []struct {
		name      string
		send      func(c *Client) error
		wantField string
	}{
		{"TextEmpty", func(c *Client) error {
			_, err := c.SendText(ctx, testPhoneID, testToken, lucia, "", TextOptions{})
			return err
		}, "text.body"},
		{"TextTooLong", func(c *Client) error {
			_, err := c.SendText(ctx, testPhoneID, testToken, lucia, strings.Repeat("á", MaxTextBody+1), TextOptions{})
			return err
		}, "text.body"},
		{"TextAtLimit4096Runes", func(c *Client) error {
			_, err := c.SendText(ctx, testPhoneID, testToken, "", strings.Repeat("á", MaxTextBody), TextOptions{})
			return err
		}, "to"}, // the body passes, the missing recipient does not
		{"BizOpaqueTooLong", func(c *Client) error {
			_, err := c.SendText(ctx, testPhoneID, testToken, lucia, "hola", TextOptions{BizOpaqueCallbackData: strings.Repeat("x", 513)})
			return err
		}, "biz_opaque_callback_data"},
		{"PhoneNumberIDEmpty", func(c *Client) error {
			_, err := c.SendText(ctx, "", testToken, lucia, "hola", TextOptions{})
			return err
		}, "phone_number_id"},
		{"PhoneNumberIDPath", func(c *Client) error {
			_, err := c.SendText(ctx, "../100200300400500/message_templates", testToken, lucia, "hola", TextOptions{})
			return err
		}, "phone_number_id"},
		{"TokenEmpty", func(c *Client) error {
			_, err := c.SendText(ctx, testPhoneID, "", lucia, "hola", TextOptions{})
			return err
		}, "token"},
		{"MediaIDAndLink", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "image", ID: "1", Link: "https://x.example/a.jpg"})
			return err
		}, "image"},
		{"MediaNeitherIDNorLink", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "video"})
			return err
		}, "video"},
		{"MediaRelativeLink", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "image", Link: "/a.jpg"})
			return err
		}, "image.link"},
		{"MediaUnknownType", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "gif", ID: "1"})
			return err
		}, "type"},
		{"AudioCaption", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "audio", ID: "1", Caption: "hola"})
			return err
		}, "audio.caption"},
		{"ImageFilename", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "image", ID: "1", Filename: "a.jpg"})
			return err
		}, "image.filename"},
		{"CaptionTooLong", func(c *Client) error {
			_, err := c.SendMedia(ctx, testPhoneID, testToken, lucia, Media{Type: "image", ID: "1", Caption: strings.Repeat("a", MaxCaption+1)})
			return err
		}, "image.caption"},
		{"FourButtons", func(c *Client) error {
			m := visitButtons()
			m.Buttons = append(m.Buttons, ReplyButton{ID: "four", Title: "Cuatro"})
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.buttons"},
		{"NoButtons", func(c *Client) error {
			m := visitButtons()
			m.Buttons = nil
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.buttons"},
		{"ButtonTitle21", func(c *Client) error {
			m := visitButtons()
			m.Buttons[1].Title = strings.Repeat("é", MaxButtonTitle+1)
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.buttons[1].reply.title"},
		{"ButtonID257", func(c *Client) error {
			m := visitButtons()
			m.Buttons[0].ID = strings.Repeat("i", MaxButtonID+1)
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.buttons[0].reply.id"},
		{"ButtonIDTwice", func(c *Client) error {
			m := visitButtons()
			m.Buttons[2].ID = m.Buttons[0].ID
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.buttons[2].reply.id"},
		{"ButtonsNoBody", func(c *Client) error {
			m := visitButtons()
			m.Body = ""
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.body.text"},
		{"ListBodyTooLong", func(c *Client) error {
			m := deliveryList()
			m.Body = strings.Repeat("b", MaxInteractiveBody+1)
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.body.text"},
		{"ButtonsHeaderTooLong", func(c *Client) error {
			m := visitButtons()
			m.Header = TextHeader(strings.Repeat("h", MaxInteractiveHeader+1))
			_, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.header.text"},
		{"ListElevenRows", func(c *Client) error {
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, tooManyRows)
			return err
		}, "interactive.action.sections"},
		{"ListElevenSections", func(c *Client) error {
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, elevenSections)
			return err
		}, "interactive.action.sections"},
		{"ListButton21", func(c *Client) error {
			m := deliveryList()
			m.Button = strings.Repeat("b", MaxListButton+1)
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.button"},
		{"ListSectionWithoutTitle", func(c *Client) error {
			m := deliveryList()
			m.Sections[1].Title = ""
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.sections[1].title"},
		{"ListRowTitle25", func(c *Client) error {
			m := deliveryList()
			m.Sections[0].Rows[1].Title = strings.Repeat("t", MaxListRowTitle+1)
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.action.sections[0].rows[1].title"},
		{"ListImageHeader", func(c *Client) error {
			m := deliveryList()
			m.Header = &Header{Type: "image", Media: &MediaRef{ID: "1"}}
			_, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, m)
			return err
		}, "interactive.header.type"},
		{"TemplateNoName", func(c *Client) error {
			tpl := reservationTemplate()
			tpl.Name = ""
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.name"},
		{"TemplateNoLanguage", func(c *Client) error {
			tpl := reservationTemplate()
			tpl.Language = ""
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.language.code"},
		{"TemplateEmptyTextParameter", func(c *Client) error {
			tpl := reservationTemplate()
			tpl.Components[1].Parameters[2].Text = ""
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[1].parameters[2].text"},
		{"TemplateImageIDAndLink", func(c *Client) error {
			tpl := reservationTemplate()
			tpl.Components[0].Parameters[0].Image.ID = "1000000000000901"
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].parameters[0].image"},
		{"TemplateButtonWithoutSubType", func(c *Client) error {
			tpl := Template{Name: "x", Language: "es", Components: []Component{{Type: "button", Parameters: []Parameter{{Type: "payload", Payload: "p"}}}}}
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].sub_type"},
		{"TemplateButtonIndex10", func(c *Client) error {
			tpl := Template{Name: "x", Language: "es", Components: []Component{{Type: "button", SubType: "quick_reply", Index: 10, Parameters: []Parameter{{Type: "payload", Payload: "p"}}}}}
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].index"},
		{"TemplateCurrencyWithoutCode", func(c *Client) error {
			tpl := Template{Name: "x", Language: "es", Components: []Component{{Type: "body", Parameters: []Parameter{{Type: "currency", Currency: &Currency{FallbackValue: "$1"}}}}}}
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].parameters[0].currency"},
		{"TemplateUnknownParameterType", func(c *Client) error {
			tpl := Template{Name: "x", Language: "es", Components: []Component{{Type: "body", Parameters: []Parameter{{Type: "emoji", Text: "x"}}}}}
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].parameters[0].type"},
		{"TemplateComponentWithoutParameters", func(c *Client) error {
			tpl := Template{Name: "x", Language: "es", Components: []Component{{Type: "body"}}}
			_, err := c.SendTemplate(ctx, testPhoneID, testToken, lucia, tpl)
			return err
		}, "template.components[0].parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
			err := tt.send(c)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (%v)", verr.Field, tt.wantField, verr)
			}
			if n := len(g.Calls()); n != 0 {
				t.Errorf("an invalid message made %d calls", n)
			}
		})
	}
}

// TestClient_Send_Limits checks that messages exactly at Meta's limits
// are sent.
func TestClient_Send_Limits(t *testing.T) {
	c, g := newFakeGraph(t, respondWith(t, 200, "send/response_success.json"))
	ctx := context.Background()
	buttons := ButtonsMessage{Body: strings.Repeat("b", MaxInteractiveBody), Footer: strings.Repeat("f", MaxInteractiveFooter)}
	for i := range MaxButtons {
		buttons.Buttons = append(buttons.Buttons, ReplyButton{ID: strings.Repeat(string(rune('a'+i)), MaxButtonID), Title: strings.Repeat("ñ", MaxButtonTitle)})
	}
	if _, err := c.SendInteractiveButtons(ctx, testPhoneID, testToken, lucia, buttons); err != nil {
		t.Errorf("buttons at the limits: %v", err)
	}
	list := ListMessage{Body: strings.Repeat("b", MaxInteractiveBody), Button: strings.Repeat("v", MaxListButton)}
	for i := range MaxListSections {
		list.Sections = append(list.Sections, ListSection{
			Title: strings.Repeat("s", MaxListSectionTitle),
			Rows:  []ListRow{{ID: strings.Repeat(string(rune('a'+i)), MaxListRowID), Title: strings.Repeat("t", MaxListRowTitle), Description: strings.Repeat("d", MaxListRowDescription)}},
		})
	}
	if _, err := c.SendInteractiveList(ctx, testPhoneID, testToken, lucia, list); err != nil {
		t.Errorf("list at the limits: %v", err)
	}
	if _, err := c.SendText(ctx, testPhoneID, testToken, lucia, strings.Repeat("á", MaxTextBody), TextOptions{}); err != nil {
		t.Errorf("text at the limit: %v", err)
	}
	if n := len(g.Calls()); n != 3 {
		t.Errorf("got %d calls, want 3", n)
	}
}
