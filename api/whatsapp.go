package api

import (
	"crypto/subtle"
	"io"
	"net/http"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// MaxWebhookBodyBytes limits a webhook delivery; Meta batches up to a
// thousand updates in one.
const MaxWebhookBodyBytes = 8 << 20

func (s *Server) handleWhatsAppNumberCreate(w http.ResponseWriter, r *http.Request) error {
	var in plaza.WhatsAppNumberCreate
	if err := decode(r, &in); err != nil {
		return err
	}
	n, err := s.WhatsAppNumbers.CreateWhatsAppNumber(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "WhatsApp number connected successfully.", n)
}

func (s *Server) handleWhatsAppNumberList(w http.ResponseWriter, r *http.Request) error {
	numbers, err := s.WhatsAppNumbers.FindWhatsAppNumbers(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", numbers)
}

func (s *Server) handleWhatsAppNumberDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.WhatsAppNumbers.DeleteWhatsAppNumber(r.Context(), r.PathValue("numberId")); err != nil {
		return err
	}
	return ok(w, "WhatsApp number disconnected successfully.", nil)
}

// handleWhatsAppWebhookVerify answers Meta's subscription check: the raw
// hub.challenge when hub.verify_token is a connected number's verify token,
// else 403.
func (s *Server) handleWhatsAppWebhookVerify(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	challenge := q.Get("hub.challenge")
	found, err := s.WhatsAppNumbers.WhatsAppVerifyTokenExists(r.Context(), q.Get("hub.verify_token"))
	if err != nil {
		return err
	}
	if q.Get("hub.mode") != "subscribe" || !found || challenge == "" {
		return plaza.Errorf(plaza.EFORBIDDEN, "The verify token does not match a connected WhatsApp number.")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, challenge)
	return nil
}

// errBadSignature refuses a delivery whose X-Hub-Signature-256 is not
// Meta's.
var errBadSignature = plaza.Errorf(plaza.EUNAUTHORIZED, "The X-Hub-Signature-256 header does not match the body.")

// handleWhatsAppWebhook receives Meta's deliveries for every connected
// number. The signature is checked on the raw bytes, against the app
// secrets of the connected numbers, before anything is parsed; then the
// delivery is stored with its processing job, and the 200 goes back at
// once. A delivery that names a connected number of another app (another
// secret) is refused whole: a valid signature vouches only for its own
// app's numbers.
func (s *Server) handleWhatsAppWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyReadError(err)
	}
	header := r.Header.Get(whatsapp.SignatureHeader)
	if header == "" {
		return errBadSignature
	}
	numbers, err := s.WhatsAppNumbers.WhatsAppAppSecrets(r.Context())
	if err != nil {
		return err
	}
	var secret string
	for _, n := range numbers {
		if whatsapp.VerifySignature(n.AppSecret, body, header) {
			secret = n.AppSecret
			break
		}
	}
	if secret == "" {
		return errBadSignature
	}
	note, err := whatsapp.Parse(body)
	if err != nil {
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The body is not a WhatsApp webhook: " + err.Error()})
	}
	for _, entry := range note.Entry {
		for _, change := range entry.Changes {
			for _, n := range numbers {
				named := (change.Messages != nil && change.Messages.Metadata.PhoneNumberID == n.PhoneNumberID) ||
					(change.TemplateStatus != nil && entry.ID == n.WabaID)
				if named && subtle.ConstantTimeCompare([]byte(n.AppSecret), []byte(secret)) != 1 {
					return errBadSignature
				}
			}
		}
	}
	if err := s.WhatsAppInbox.StoreWhatsAppDelivery(r.Context(), body); err != nil {
		return err
	}
	return ok(w, "EVENT_RECEIVED", nil)
}
