package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// Media sends files to contacts and serves the media of messages: the
// plaza.MediaService. File messages go through the Outbox's queue, send
// job and wait, so they go out exactly once, as texts do.
type Media struct {
	Store   plaza.MediaStore
	Numbers plaza.WhatsAppNumberService
	Graph   *whatsapp.Client
	Outbox  *Outbox
}

var _ plaza.MediaService = (*Media)(nil)

// SendWhatsAppFile checks the send and the contact's window, uploads a
// file to Meta's media endpoint on the number that will send it, and
// queues the message with its media id (or its link) for the send job.
//
// The upload happens before anything is written: a request that fails
// after it, or one repeated after a crash, leaves at most a media object
// that no message uses, which Meta deletes after 30 days.
func (m *Media) SendWhatsAppFile(ctx context.Context, in plaza.MessageFileSend) (*plaza.MessageSent, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	number, err := m.Store.PrepareWhatsAppFile(ctx, in.MessageSend)
	if err != nil {
		return nil, err
	}
	// Queued from the number it was uploaded on: Meta's media ids belong
	// to the number.
	in.NumberID, in.InternalWhatsappNumber, in.SenderDigits = number.ID, "", ""
	media := plaza.OutboundMedia{Type: in.Type, Link: in.ContentURL, Caption: in.Content, FileName: in.FileName}
	if in.File != nil {
		creds, err := m.credentials(ctx, number.PhoneNumberID, number.WorkspaceID)
		if err != nil {
			return nil, err
		}
		name := in.File.Name
		if name == "" {
			name = "file"
		}
		media.ID, err = m.Graph.UploadMedia(ctx, creds.PhoneNumberID, creds.AccessToken, path.Base(name), in.FileMimeType, in.File.Body)
		if err != nil {
			return nil, mediaGraphError(err, "upload the file to")
		}
		media.Link = ""
	}
	sent, err := m.Store.QueueWhatsAppFile(ctx, in, media)
	if err != nil {
		return nil, err
	}
	return m.Outbox.await(ctx, sent)
}

// OpenMessageMedia asks Meta where the message's media is and opens its
// download with the token of the number of the message's conversation.
func (m *Media) OpenMessageMedia(ctx context.Context, messageID string) (*plaza.MediaContent, error) {
	mm, err := m.Store.FindMessageMedia(ctx, messageID)
	if err != nil {
		return nil, err
	}
	if mm.MediaID == "" {
		return nil, plaza.Errorf(plaza.ENOTFOUND, "Message %s was sent by link: its file is at %s, not held by WhatsApp.", messageID, mm.Link)
	}
	if mm.PhoneNumberID == "" {
		return nil, errDisconnected
	}
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := m.credentials(ctx, mm.PhoneNumberID, p.WorkspaceID)
	if err != nil {
		return nil, err
	}
	info, err := m.Graph.MediaURL(ctx, mm.MediaID, creds.AccessToken)
	if err != nil {
		return nil, mediaGraphError(err, "get the file from")
	}
	d, err := m.Graph.DownloadMedia(ctx, info.URL, creds.AccessToken, whatsapp.DefaultMaxMediaSize)
	if err != nil {
		return nil, mediaGraphError(err, "download the file from")
	}
	c := &plaza.MediaContent{Body: d.Body, ContentType: d.ContentType, Length: d.ContentLength, FileName: mm.FileName}
	if c.ContentType == "" || c.ContentType == "application/octet-stream" {
		c.ContentType = info.MimeType
	}
	if c.ContentType == "" {
		c.ContentType = mm.MimeType
	}
	return c, nil
}

var errDisconnected = plaza.Errorf(plaza.EUNPROCESSABLE,
	"The WhatsApp number of this conversation was disconnected: Plaza can no longer fetch its media from WhatsApp. Connect the number again to reach new messages.")

// credentials returns the number's credentials, which must be the
// workspace's; a number gone meanwhile is errDisconnected.
func (m *Media) credentials(ctx context.Context, phoneNumberID, workspaceID string) (*plaza.WhatsAppCredentials, error) {
	creds, err := m.Numbers.WhatsAppCredentialsByPhoneNumberID(ctx, phoneNumberID)
	if plaza.ErrorCode(err) == plaza.ENOTFOUND || (err == nil && creds.WorkspaceID != workspaceID) {
		return nil, errDisconnected
	} else if err != nil {
		return nil, err
	}
	return creds, nil
}

// mediaGraphError turns a failed media call into the error the caller gets:
// ENOTFOUND for media Meta no longer has, EUNPROCESSABLE for Meta's other
// refusals (a refused token, a file it will not take), EUNAVAILABLE when
// Meta cannot be reached or fails on its side.
func mediaGraphError(err error, doing string) error {
	var apiErr *whatsapp.APIError
	var invalid *whatsapp.ValidationError
	switch {
	case errors.Is(err, whatsapp.ErrMediaTooLarge):
		return plaza.Errorf(plaza.EUNPROCESSABLE, "The file is larger than WhatsApp's %d MB limit.", whatsapp.DefaultMaxMediaSize>>20)
	case errors.As(err, &invalid):
		return plaza.Errorf(plaza.EUNPROCESSABLE, "Could not %s WhatsApp: %s.", doing, strings.TrimPrefix(invalid.Error(), "whatsapp: "))
	case errors.As(err, &apiErr):
		switch {
		case apiErr.HTTPStatus == 404 || (apiErr.Code == whatsapp.CodeInvalidParameter && apiErr.Subcode == 33):
			return plaza.Errorf(plaza.ENOTFOUND, "WhatsApp no longer has this file (Meta keeps received media for 30 days).")
		case apiErr.Unauthorized():
			return plaza.Errorf(plaza.EUNPROCESSABLE, "Could not %s WhatsApp: Meta refused the number's access token (%s); connect the number again with a new token.", doing, errorTitle(apiErr))
		case apiErr.HTTPStatus >= 500 || apiErr.RateLimited() || apiErr.Retryable():
			return &plaza.Error{Code: plaza.EUNAVAILABLE, Message: fmt.Sprintf("Could not %s WhatsApp: Meta failed for now (%s); try again later.", doing, apiErr.Message)}
		}
		msg := fmt.Sprintf("Could not %s WhatsApp: %s (code %d).", doing, errorTitle(apiErr), apiErr.Code)
		if apiErr.Details != "" {
			msg = fmt.Sprintf("Could not %s WhatsApp: %s (code %d): %s", doing, errorTitle(apiErr), apiErr.Code, apiErr.Details)
		}
		return plaza.Errorf(plaza.EUNPROCESSABLE, "%s", msg)
	case errors.Is(err, context.Canceled):
		return err
	}
	return &wrapped{code: plaza.EUNAVAILABLE, msg: fmt.Sprintf("Could not %s WhatsApp: Meta could not be reached; try again later.", doing), err: err}
}

// wrapped is a plaza.Error that keeps its cause for the logs.
type wrapped struct {
	code, msg string
	err       error
}

func (w *wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w *wrapped) Unwrap() []error {
	return []error{&plaza.Error{Code: w.code, Message: w.msg}, w.err}
}

// mediaOfPayload reads the file message a payload (Meta's request, as
// queued) carries.
func mediaOfPayload(typ, payload string) (whatsapp.Media, error) {
	var req map[string]json.RawMessage
	if err := json.Unmarshal([]byte(payload), &req); err != nil {
		return whatsapp.Media{}, err
	}
	var m struct {
		ID       string `json:"id"`
		Link     string `json:"link"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
	}
	raw, ok := req[typ]
	if !ok {
		return whatsapp.Media{}, fmt.Errorf("no %s object", typ)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return whatsapp.Media{}, err
	}
	return whatsapp.Media{Type: typ, ID: m.ID, Link: m.Link, Caption: m.Caption, Filename: m.Filename}, nil
}
