package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// MediaStore implements plaza.MediaStore: file messages sent to contacts,
// and the media of stored messages.
type MediaStore struct{ db *DB }

// NewMediaStore returns the media store of db. Queuing needs the db's
// queue open.
func NewMediaStore(db *DB) *MediaStore { return &MediaStore{db: db} }

var _ plaza.MediaStore = (*MediaStore)(nil)

// PrepareWhatsAppFile checks that a file send can go, writing nothing.
func (s *MediaStore) PrepareWhatsAppFile(ctx context.Context, in plaza.MessageSend) (*plaza.WhatsAppNumber, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	var n plaza.WhatsAppNumber
	err = s.db.inTx(ctx, func(tx *Tx) error {
		t, err := tx.sendTarget(ctx, p.WorkspaceID, in)
		if err != nil {
			return err
		}
		var created sqlTime
		err = tx.QueryRowContext(ctx, `SELECT id, workspace_id, phone_number_id, waba_id, display_phone_number, creation_date
			FROM whatsapp_numbers WHERE workspace_id = $1 AND id = $2`, p.WorkspaceID, t.numberID).Scan(
			&n.ID, &n.WorkspaceID, &n.PhoneNumberID, &n.WabaID, &n.DisplayPhoneNumber, &created)
		n.CreationDate = created.plaza()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// QueueWhatsAppFile stores a file message for the caller's contact and
// enqueues its send, in one transaction, if the contact's 24-hour window
// is still open. in must have been validated.
func (s *MediaStore) QueueWhatsAppFile(ctx context.Context, in plaza.MessageFileSend, media plaza.OutboundMedia) (*plaza.MessageSent, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	if !plaza.IsMediaType(media.Type) || (media.ID == "") == (media.Link == "") {
		return nil, fmt.Errorf("queue file: media %+v must have a media type and one of id and link", media)
	}
	id := newID()
	var sent *plaza.MessageSent
	err = s.db.inTx(ctx, func(tx *Tx) error {
		t, err := tx.sendTarget(ctx, p.WorkspaceID, in.MessageSend)
		if err != nil {
			return err
		}
		payload, err := mediaPayload(t.to, id, media)
		if err != nil {
			return err
		}
		sent, err = tx.queueOutbound(ctx, p, t, outboundRow{id: id, typ: media.Type,
			content: plaza.MediaSummary(media.Type, media.Caption, media.FileName), payload: payload,
			externalReferenceID: in.ExternalReferenceID, agentSenderID: in.AgentSendedID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return sent, nil
}

// wireMedia is a media object of Meta's: what a send request carries
// (id or link, caption, filename) and what a webhook reports (id,
// mime_type, sha256, caption, filename).
type wireMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
}

// mediaPayload is the Graph API request that sends a file, as the
// message's payload stores it: the WhatsApp client's own.
func mediaPayload(to, messageID string, m plaza.OutboundMedia) (string, error) {
	b, err := whatsapp.MediaRequest(to, whatsapp.Media{Type: m.Type, ID: m.ID, Link: m.Link, Caption: m.Caption,
		Filename: m.FileName, BizOpaqueCallbackData: plaza.OutboundCallbackData(messageID)})
	return string(b), err
}

// payloadMedia reads the media object of a message's payload (Meta's
// message object, or the request that sent it); nil when it has none.
func payloadMedia(typ string, payload []byte) *wireMedia {
	if !plaza.IsMediaType(typ) {
		return nil
	}
	var msg map[string]json.RawMessage
	if json.Unmarshal(payload, &msg) != nil {
		return nil
	}
	var m wireMedia
	if json.Unmarshal(msg[typ], &m) != nil || (m.ID == "" && m.Link == "") {
		return nil
	}
	return &m
}

// messageFiles is a message's files: one entry for the media of a media
// message (see plaza.MessageFile), none for other messages.
func messageFiles(m *plaza.Message) []any {
	media := payloadMedia(m.Type, m.Payload)
	if media == nil {
		return []any{}
	}
	f := plaza.MessageFile{Type: m.Type, URL: media.Link, MediaID: nilIfEmpty(media.ID), MimeType: nilIfEmpty(media.MimeType),
		FileName: nilIfEmpty(media.Filename), Caption: nilIfEmpty(media.Caption), SHA256: nilIfEmpty(media.SHA256)}
	if media.ID != "" {
		f.URL = plaza.MessageMediaPath(m.ID)
	}
	return []any{f}
}

// FindMessageMedia returns the media of one of the caller's messages.
func (s *MediaStore) FindMessageMedia(ctx context.Context, messageID string) (*plaza.MessageMedia, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	mm := plaza.MessageMedia{MessageID: messageID}
	var payload string
	var phoneNumberID sql.NullString
	err = s.db.read.QueryRowContext(ctx, `SELECT m.type, m.payload, wn.phone_number_id
		FROM messages m
		JOIN conversations cv ON cv.workspace_id = m.workspace_id AND cv.id = m.conversation_id
		JOIN contacts c ON c.workspace_id = m.workspace_id AND c.id = m.contact_id
		LEFT JOIN whatsapp_numbers wn ON wn.workspace_id = cv.workspace_id AND wn.id = cv.whatsapp_number_id
		WHERE m.workspace_id = $1 AND m.id = $2 AND c.deletion_date IS NULL`, p.WorkspaceID, messageID).Scan(
		&mm.Type, &payload, &phoneNumberID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Message not found.")
	} else if err != nil {
		return nil, err
	}
	media := payloadMedia(mm.Type, []byte(payload))
	if media == nil {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Message %s has no media: it is a %s message.", messageID, strings.TrimSpace(mm.Type))
	}
	mm.MediaID, mm.Link, mm.MimeType, mm.FileName = media.ID, media.Link, media.MimeType, media.Filename
	mm.PhoneNumberID = phoneNumberID.String
	return &mm, nil
}
