// Package messaging holds the durable queue's messaging work: applying
// Meta's webhook deliveries (InboxWorker) and sending messages. Its
// workers talk to storage through the root package's interfaces and to
// Meta through package whatsapp.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/riverqueue/river"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// InboxWorker applies Meta's webhook deliveries: each inbound message,
// status and template review is applied in the workspace of the connected
// number it names (metadata.phone_number_id, or the entry's WABA id for
// template reviews). Changes for numbers no workspace has connected are
// skipped and logged. The Drainer feeds it the stored deliveries.
//
// A delivery applied again after a crash midway changes nothing twice:
// messages are stored once per wamid, statuses only move forward, and
// template reviews overwrite.
type InboxWorker struct {
	Numbers plaza.WhatsAppNumberService
	Store   plaza.InboundStore
	Logger  *slog.Logger
}

func (w *InboxWorker) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

// errUnparsable marks a delivery that can never be applied.
var errUnparsable = errors.New("unparsable delivery")

// Apply applies one stored delivery. numbers caches the connected numbers
// looked up, by phone number id (nil: not connected); a drainer shares one
// across a batch. An error wrapping errUnparsable is not worth retrying.
func (w *InboxWorker) Apply(ctx context.Context, d plaza.WhatsAppDelivery, numbers map[string]*plaza.WhatsAppCredentials) error {
	log := w.logger().With("inbox_id", d.ID, "attempt", d.Attempt)
	note, err := whatsapp.Parse(d.Body)
	if err != nil {
		// The webhook parsed it before storing it; only a change of the
		// parser gets here, and retrying will not help.
		return fmt.Errorf("%w: %v", errUnparsable, err)
	}
	if numbers == nil {
		numbers = map[string]*plaza.WhatsAppCredentials{}
	}
	dl := delivery{w: w, log: log, numbers: numbers}
	for _, entry := range note.Entry {
		for _, change := range entry.Changes {
			var err error
			switch {
			case change.Messages != nil:
				err = dl.messages(ctx, change.Messages)
			case change.TemplateStatus != nil:
				err = dl.templateStatus(ctx, entry.ID, change.TemplateStatus)
			default:
				log.Debug("whatsapp inbox: field not handled", "field", change.Field, "waba_id", entry.ID)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// LegacyInboxJobWorker completes the River jobs (plaza.WhatsAppInboxJob)
// queued before the inbox became its own queue, without work: their
// deliveries are unprocessed inbox rows, which the drainer applies.
type LegacyInboxJobWorker struct {
	river.WorkerDefaults[plaza.WhatsAppInboxJob]
}

// Work does nothing: see LegacyInboxJobWorker.
func (LegacyInboxJobWorker) Work(context.Context, *river.Job[plaza.WhatsAppInboxJob]) error {
	return nil
}

// AddLegacyInboxJobWorker registers the worker of leftover inbox jobs.
func AddLegacyInboxJobWorker(workers *river.Workers) {
	river.AddWorker(workers, &LegacyInboxJobWorker{})
}

// delivery is the work on one delivery, with the numbers it looked up.
type delivery struct {
	w       *InboxWorker
	log     *slog.Logger
	numbers map[string]*plaza.WhatsAppCredentials // by phone number id; nil: not connected
}

// number returns the connected number with Meta's phone number id, or nil
// when no workspace has connected it.
func (d *delivery) number(ctx context.Context, phoneNumberID string) (*plaza.WhatsAppCredentials, error) {
	if n, ok := d.numbers[phoneNumberID]; ok {
		return n, nil
	}
	n, err := d.w.Numbers.WhatsAppCredentialsByPhoneNumberID(ctx, phoneNumberID)
	if plaza.ErrorCode(err) == plaza.ENOTFOUND {
		n, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.numbers[phoneNumberID] = n
	return n, nil
}

// messages applies a "messages" change: inbound messages and statuses.
func (d *delivery) messages(ctx context.Context, v *whatsapp.MessagesValue) error {
	pnid := v.Metadata.PhoneNumberID
	log := d.log.With("phone_number_id", pnid)
	n, err := d.number(ctx, pnid)
	if err != nil {
		return err
	}
	if n == nil {
		log.Warn("whatsapp inbox: change for a number no workspace has connected; skipped",
			"messages", len(v.Messages), "statuses", len(v.Statuses))
		return nil
	}
	log = log.With("workspace_id", n.WorkspaceID)
	for _, e := range v.Errors {
		log.Warn("whatsapp inbox: Meta reports an error", "code", e.Code, "title", e.Title, "details", e.ErrorData.Details)
	}
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[c.WaID] = c.Profile.Name
	}
	for _, m := range v.Messages {
		name, ok := names[m.From]
		if !ok && len(v.Contacts) == 1 {
			name = v.Contacts[0].Profile.Name
		}
		in := plaza.InboundMessage{
			Number: n.WhatsAppNumber, From: m.From, ProfileName: name, WAMID: m.ID, Type: m.Type,
			Content: whatsapp.Summary(m), Payload: m.Raw, Timestamp: m.Time(),
		}
		for _, e := range m.Errors {
			log.Warn("whatsapp inbox: message with an error", "wamid", m.ID, "type", m.Type, "code", e.Code, "title", e.Title)
		}
		res, err := d.w.Store.StoreInboundMessage(ctx, in)
		if plaza.ErrorCode(err) == plaza.EINVALID {
			log.Error("whatsapp inbox: message skipped", "wamid", m.ID, "error", plaza.ErrorMessage(err))
			continue
		} else if err != nil {
			return fmt.Errorf("message %s: %w", m.ID, err)
		}
		log.Debug("whatsapp inbox: message", "wamid", m.ID, "message_id", res.MessageID, "duplicate", res.Duplicate,
			"new_contact", res.NewContact)
	}
	for _, s := range v.Statuses {
		u := plaza.MessageStatusUpdate{
			Number: n.WhatsAppNumber, WAMID: s.ID, Status: s.Status, CallbackData: s.BizOpaqueCallbackData,
			Timestamp: s.Time(),
		}
		if len(s.Errors) > 0 {
			e := s.Errors[0]
			title := e.Title
			if title == "" {
				title = e.Message
			}
			u.Error = &plaza.MessageError{Code: e.Code, Title: title, Details: e.ErrorData.Details}
		}
		found, err := d.w.Store.ApplyMessageStatus(ctx, u, whatsapp.Advance)
		if plaza.ErrorCode(err) == plaza.EINVALID {
			log.Error("whatsapp inbox: status skipped", "wamid", s.ID, "error", plaza.ErrorMessage(err))
			continue
		} else if err != nil {
			return fmt.Errorf("status %s of %s: %w", s.Status, s.ID, err)
		}
		if !found {
			log.Info("whatsapp inbox: status of a message Plaza does not know; ignored", "wamid", s.ID, "status", s.Status)
		}
	}
	return nil
}

// templateStatus applies Meta's review of a template to every connected
// number of the WABA.
func (d *delivery) templateStatus(ctx context.Context, wabaID string, u *whatsapp.TemplateStatusUpdate) error {
	numbers, err := d.w.Store.WhatsAppNumbersByWabaID(ctx, wabaID)
	if err != nil {
		return err
	}
	if len(numbers) == 0 {
		d.log.Warn("whatsapp inbox: template review for a WABA no workspace has connected; skipped",
			"waba_id", wabaID, "template", u.MessageTemplateName)
		return nil
	}
	c := plaza.TemplateStatusChange{
		Name: u.MessageTemplateName, Language: u.MessageTemplateLanguage, Category: u.MessageTemplateCategory,
		Status: u.Event, Reason: templateReason(u),
	}
	if u.MessageTemplateID != 0 {
		c.MetaID = u.TemplateID()
	}
	for _, n := range numbers {
		c.Number = n
		err := d.w.Store.ApplyTemplateStatus(ctx, c)
		if plaza.ErrorCode(err) == plaza.EINVALID {
			d.log.Error("whatsapp inbox: template review skipped", "waba_id", wabaID, "error", plaza.ErrorMessage(err))
			return nil
		} else if err != nil {
			return fmt.Errorf("template %s: %w", u.MessageTemplateName, err)
		}
	}
	return nil
}

// templateReason is Meta's explanation of a review: its reason code (none
// when "NONE") and the text of a rejection or other event.
func templateReason(u *whatsapp.TemplateStatusUpdate) string {
	var parts []string
	if r := strings.TrimSpace(u.Reason); r != "" && !strings.EqualFold(r, "NONE") {
		parts = append(parts, r)
	}
	if ri := u.RejectionInfo; ri != nil && ri.Reason != "" {
		parts = append(parts, ri.Reason)
	}
	if oi := u.OtherInfo; oi != nil {
		for _, s := range []string{oi.Title, oi.Description} {
			if s != "" {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ": ")
}
