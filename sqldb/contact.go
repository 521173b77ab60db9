package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/phone"
)

// ContactService implements plaza.ContactService.
//
// A contact's phone is stored three ways: phone (E.164), wa_id (digits,
// rendered as platformSenderPhone) and phone_key (package phone's Key, the
// same for every variant of one number). The unique indexes contacts_phone
// and contacts_email, over live contacts of a workspace, are the final
// guard against duplicates: the checks before an insert give the existing
// id in the ordinary case, and a unique violation from a concurrent insert
// is turned into the same ECONFLICT by re-reading the id.
type ContactService struct{ db *DB }

// NewContactService returns the contact service of db.
func NewContactService(db *DB) *ContactService { return &ContactService{db: db} }

var _ plaza.ContactService = (*ContactService)(nil)

// contactColumns are what scanContact reads, from contacts c LEFT JOIN
// users u (the assigned agent).
const contactColumns = `c.id, c.creation_date, c.assigned_agent_id, u.name, u.last_name, c.segmentation_id,
	c.last_message, c.last_message_date, c.platform_sender_id, c.platform_sender_name, c.wa_id, c.email,
	c.is_read, c.is_bot_enabled, c.is_manually_added, c.avatar_color, c.order_in_cards, c.order_in_cards_updated,
	c.custom_fields, c.variables, c.is_solved, c.solved_by_agent_id, c.solved_date, c.workspace_id,
	c.internal_whatsapp_number, c.name, c.lastname, c.platform_id, c.stage_id, c.blocked, c.updated_date`

const contactFrom = ` FROM contacts c LEFT JOIN users u ON u.id = c.assigned_agent_id`

func scanContact(row scanner) (*plaza.Contact, error) {
	var c plaza.Contact
	var agentName, agentLastName sql.NullString
	var created, orderUpdated, updated sqlTime
	var lastMessageDate, solvedDate sqlNullTime
	var customFields, variables string
	err := row.Scan(&c.ID, &created, &c.AssignedAgentID, &agentName, &agentLastName, &c.SegmentationID,
		&c.LastMessage, &lastMessageDate, &c.PlatformSenderID, &c.PlatformSenderName, &c.PlatformSenderPhone, &c.Email,
		&c.IsRead, &c.IsBotEnabled, &c.IsManuallyAdded, &c.AvatarColor, &c.OrderInCards, &orderUpdated,
		&customFields, &variables, &c.IsSolved, &c.SolvedByAgentID, &solvedDate, &c.WorkspaceID,
		&c.InternalWhatsappNumber, &c.Name, &c.Lastname, &c.PlatformID, &c.StageID, &c.Blocked, &updated)
	if err != nil {
		return nil, err
	}
	c.CreationDate, c.OrderInCardsLastUpdated, c.UpdatedDate = created.plaza(), orderUpdated.plaza(), updated.plaza()
	c.LastMessageDate, c.SolvedDate = lastMessageDate.plaza(), solvedDate.plaza()
	if agentName.Valid {
		name := strings.TrimSpace(agentName.String + " " + agentLastName.String)
		c.AssignedAgentName = &name
	}
	c.PlatformSenderEmail = c.Email
	c.Tags, c.Files, c.CustomFields, c.Variables = []plaza.ContactTag{}, []any{}, []plaza.CustomField{}, []any{}
	if err := json.Unmarshal([]byte(customFields), &c.CustomFields); err != nil {
		return nil, fmt.Errorf("contact %s: custom_fields: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(variables), &c.Variables); err != nil {
		return nil, fmt.Errorf("contact %s: variables: %w", c.ID, err)
	}
	if c.CustomFields == nil {
		c.CustomFields = []plaza.CustomField{}
	}
	if c.Variables == nil {
		c.Variables = []any{}
	}
	return &c, nil
}

// queryContacts runs a SELECT of contactColumns with the given tail
// (WHERE ..., ORDER BY ...) and fills in the contacts' tags.
func queryContacts(ctx context.Context, q querier, workspaceID, tail string, args ...any) ([]plaza.Contact, error) {
	contacts, err := queryAll(ctx, q, scanContact, `SELECT `+contactColumns+contactFrom+` `+tail, args...)
	if err != nil {
		return nil, err
	}
	if err := loadContactTags(ctx, q, workspaceID, contacts); err != nil {
		return nil, err
	}
	return contacts, nil
}

// loadContactTags fills in the tags of contacts, oldest assignment first.
func loadContactTags(ctx context.Context, q querier, workspaceID string, contacts []plaza.Contact) error {
	if len(contacts) == 0 {
		return nil
	}
	args := []any{workspaceID}
	index := map[string]int{}
	for i, c := range contacts {
		args = append(args, c.ID)
		index[c.ID] = i
	}
	rows, err := q.QueryContext(ctx, `SELECT ct.contact_id, t.id, t.name, t.color, ct.assignment_date
		FROM contact_tags ct JOIN tags t ON t.workspace_id = ct.workspace_id AND t.id = ct.tag_id
		WHERE ct.workspace_id = $1 AND ct.contact_id IN (`+placeholders(2, len(contacts))+`)
		ORDER BY ct.assignment_date, t.name, t.id`, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var contactID string
		var t plaza.ContactTag
		var assigned sqlTime
		if err := rows.Scan(&contactID, &t.ID, &t.Name, &t.Color, &assigned); err != nil {
			rows.Close()
			return err
		}
		t.AssignmentDate = assigned.plaza()
		c := &contacts[index[contactID]]
		c.Tags = append(c.Tags, t)
	}
	return closeRows(rows)
}

var errContactNotFound = plaza.Errorf(plaza.ENOTFOUND, "Contact not found.")

// findContact returns the one live contact of the workspace matching cond
// (on contacts c, with parameters from $2), or errContactNotFound.
func findContact(ctx context.Context, q querier, workspaceID, cond string, args ...any) (*plaza.Contact, error) {
	cs, err := queryContacts(ctx, q, workspaceID, `WHERE c.workspace_id = $1 AND c.deletion_date IS NULL AND `+cond+
		` ORDER BY c.id LIMIT 1`, append([]any{workspaceID}, args...)...)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, errContactNotFound
	}
	return &cs[0], nil
}

// FindContactByID returns a live contact of the caller's workspace.
func (s *ContactService) FindContactByID(ctx context.Context, id string) (*plaza.Contact, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	return findContact(ctx, s.db.read, p.WorkspaceID, `c.id = $2`, id)
}

// FindContactByEmail returns the live contact with the e-mail, in any case.
func (s *ContactService) FindContactByEmail(ctx context.Context, email string) (*plaza.Contact, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	email = plaza.NormalizeEmail(email)
	if email == "" {
		return nil, plaza.Invalid(plaza.FieldError{Field: "email", Message: "email is required."})
	}
	return findContact(ctx, s.db.read, p.WorkspaceID, `c.email_normalized = $2`, email)
}

// FindContactByPhone returns the live contact with any variant of number.
func (s *ContactService) FindContactByPhone(ctx context.Context, number string) (*plaza.Contact, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, err
	}
	n, err := phone.Normalize(number)
	if err != nil {
		return nil, plaza.Invalid(plaza.FieldError{Field: "cellphone", Message: fmt.Sprintf("cellphone is not a valid phone number: %s.", err)})
	}
	return findContact(ctx, s.db.read, p.WorkspaceID, `c.phone_key = $2`, n.Key)
}

// FindContacts lists the live contacts of the caller's workspace, newest
// first, filtered.
func (s *ContactService) FindContacts(ctx context.Context, f plaza.ContactFilter, page plaza.Page) ([]plaza.Contact, bool, error) {
	p, err := plaza.RequireWorkspace(ctx)
	if err != nil {
		return nil, false, err
	}
	w := newConditions(p.WorkspaceID, `c.workspace_id = $1`, `c.deletion_date IS NULL`)
	if page.After != "" {
		w.add(`c.id < ` + w.arg(page.After))
	}
	if f.StageID != "" {
		w.add(`c.stage_id = ` + w.arg(f.StageID))
	}
	if f.AssignedAgentID != "" {
		w.add(`c.assigned_agent_id = ` + w.arg(f.AssignedAgentID))
	}
	if f.TagID != "" {
		w.add(`EXISTS (SELECT 1 FROM contact_tags ct WHERE ct.workspace_id = c.workspace_id
			AND ct.contact_id = c.id AND ct.tag_id = ` + w.arg(f.TagID) + `)`)
	}
	if f.UpdatedSince != nil {
		w.add(`c.updated_date >= ` + w.arg(f.UpdatedSince.UTC()))
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		w.add(contactSearch(w, q, `c.email_normalized`))
	}
	tail := `WHERE ` + w.sql() + ` ORDER BY c.id DESC LIMIT ` + w.arg(page.Size()+1)
	contacts, err := queryContacts(ctx, s.db.read, p.WorkspaceID, tail, w.args...)
	if err != nil {
		return nil, false, err
	}
	contacts, more := cutPage(contacts, page.Size())
	return contacts, more, nil
}

// contactSearch is the condition that a contact (aliased c) matches the
// search text q: in its names, its WhatsApp profile name, the extra
// expressions given, and, when q looks like a phone number, its phone
// digits.
func contactSearch(w *conditions, q string, extra ...string) string {
	pat := w.arg(likePattern(q))
	exprs := append([]string{`plaza_lower(c.name)`, `plaza_lower(c.lastname)`, `plaza_lower(c.name || ' ' || c.lastname)`,
		`plaza_lower(c.platform_sender_name)`}, extra...)
	cond := likeAny(pat, exprs...)
	if digits, ok := phoneQuery(q); ok {
		cond = "(" + cond + ` OR c.wa_id LIKE ` + w.arg(likePattern(digits)) + ` ESCAPE '\')`
	}
	return cond
}

// phoneQuery returns the digits of q when q looks like (part of) a phone
// number: digits with only phone formatting around them.
func phoneQuery(q string) (string, bool) {
	var digits strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case strings.ContainsRune(" +-.()", r):
		default:
			return "", false
		}
	}
	return digits.String(), digits.Len() > 0
}

// contactConflict is the ECONFLICT of a duplicate, naming the existing
// contact.
func contactConflict(existingID, what string) error {
	return &plaza.Error{Code: plaza.ECONFLICT,
		Message: fmt.Sprintf("A contact with this %s already exists in the workspace.", what),
		Data:    map[string]string{"contactId": existingID}}
}

// findContactDuplicate returns the ECONFLICT for the first live contact of
// the workspace, other than exceptID, with the phone key or the normalised
// e-mail; nil when there is none. Empty key or e-mail are not compared.
func findContactDuplicate(ctx context.Context, q querier, workspaceID, exceptID, phoneKey, email string) error {
	for _, c := range []struct{ col, value, what string }{
		{"phone_key", phoneKey, "phone number"},
		{"email_normalized", email, "email"},
	} {
		if c.value == "" {
			continue
		}
		rows, err := q.QueryContext(ctx, `SELECT id FROM contacts WHERE workspace_id = $1 AND deletion_date IS NULL
			AND `+c.col+` = $2 AND id <> $3 ORDER BY id LIMIT 1`, workspaceID, c.value, exceptID)
		if err != nil {
			return err
		}
		var id string
		if rows.Next() {
			err = rows.Scan(&id)
		}
		if err := errors.Join(err, closeRows(rows)); err != nil {
			return err
		}
		if id != "" {
			return contactConflict(id, c.what)
		}
	}
	return nil
}

// raceConflict turns the unique violation of a write that lost a race into
// the ECONFLICT naming the contact that won it. Its transaction is over
// (PostgreSQL aborts it), so this reads anew.
func (s *ContactService) raceConflict(ctx context.Context, workspaceID, exceptID, phoneKey, email string) error {
	if err := findContactDuplicate(ctx, s.db.read, workspaceID, exceptID, phoneKey, email); err != nil {
		return err
	}
	// The winner was deleted meanwhile; the caller may retry.
	return plaza.Errorf(plaza.ECONFLICT, "A contact with this phone number or email was being written at the same time; try again.")
}
