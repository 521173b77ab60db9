package plaza

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza/phone"
)

// Platform ids: the channel a contact talks through (Plazbot §1.6).
// Plazbot's white-label clone documents 6 and 7 as well.
const (
	PlatformWebchat   = 1
	PlatformWhatsApp  = 2
	PlatformMessenger = 3
	PlatformInstagram = 4
	PlatformTelegram  = 5
	PlatformPortal    = 6
	PlatformCode      = 7
)

// Contact is a customer, as Plazbot renders it (§5.1): every field is
// always present, nulls explicit, lists never null.
type Contact struct {
	ID                      string        `json:"id"`
	CreationDate            Time          `json:"creationDate"`
	AssignedAgentID         *string       `json:"assignedAgentId"`
	AssignedAgentName       *string       `json:"assignedAgentName"`
	SegmentationID          *string       `json:"segmentationId"`
	LastMessage             *string       `json:"lastMessage"`
	LastMessageDate         *Time         `json:"lastMessageDate"`
	PlatformSenderID        *string       `json:"platformSenderId"`
	PlatformSenderName      string        `json:"platformSenderName"`
	PlatformSenderPhone     *string       `json:"platformSenderPhone"`
	PlatformSenderEmail     *string       `json:"platformSenderEmail"`
	IsRead                  bool          `json:"isRead"`
	IsBotEnabled            bool          `json:"isBotEnabled"`
	IsManuallyAdded         bool          `json:"isManuallyAdded"`
	AvatarColor             *string       `json:"avatarColor"`
	OrderInCards            int           `json:"orderInCards"`
	OrderInCardsLastUpdated Time          `json:"orderInCardsLastUpdated"`
	Tags                    []ContactTag  `json:"tags"`
	CustomFields            []CustomField `json:"customFields"`
	Files                   []any         `json:"files"`
	Variables               []any         `json:"variables"`
	IsSolved                bool          `json:"isSolved"`
	SolvedByAgentID         *string       `json:"solvedByAgentId"`
	SolvedDate              *Time         `json:"solvedDate"`
	WorkspaceID             string        `json:"workspaceId"`
	InternalWhatsappNumber  *string       `json:"internalWhatsappNumber"`
	Name                    string        `json:"name"`
	Lastname                string        `json:"lastname"`
	Email                   *string       `json:"email"`
	PlatformID              int           `json:"platformId"`
	StageID                 *string       `json:"stageId"`
	Blocked                 bool          `json:"blocked"`
	UpdatedDate             Time          `json:"updatedDate"`
}

// ContactTag is a tag on a contact, with when it was put there.
type ContactTag struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Color          string `json:"color"`
	AssignmentDate Time   `json:"assignmentDate"`
}

// CustomField is one custom value of a contact. Plazbot writes the key as
// code in one generation of its docs and name in another; both are read,
// code is written. The value is any JSON value, kept as sent.
type CustomField struct {
	Code  string          `json:"code"`
	Value json.RawMessage `json:"value"`
}

func (f *CustomField) UnmarshalJSON(b []byte) error {
	var in struct {
		Code  *string         `json:"code"`
		Name  *string         `json:"name"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return Invalid(FieldError{Field: "customFields", Message: "customFields must be an array of {code, value} objects (code a string)."})
	}
	f.Code, f.Value = "", in.Value
	if in.Code != nil {
		f.Code = *in.Code
	} else if in.Name != nil {
		f.Code = *in.Name
	}
	f.Code = strings.TrimSpace(f.Code)
	if len(f.Value) == 0 {
		f.Value = json.RawMessage("null")
	}
	return nil
}

// ContactCreate is the input of creating a contact.
//
// Which number is the customer's: Plazbot's create docs (§3.3) say a
// WhatsApp contact "must send internalWhatsappNumber" and takes no other
// phone field, and a real client (S7) sends {name, platformId: 2,
// internalWhatsappNumber: <the customer's number>}; yet the contact model
// (§5.1) reads like internalWhatsappNumber is the business's connected
// number. Plaza serves both readings: the customer's number is Phone (sent
// as phone, cellphone or platformSenderPhone) when given, else, for a
// WhatsApp contact, internalWhatsappNumber. internalWhatsappNumber is kept
// and rendered as given either way; the customer's number is stored
// normalised and rendered as platformSenderPhone (wa_id digits).
type ContactCreate struct {
	Name                   string
	Lastname               string
	Email                  string
	PlatformID             *int
	InternalWhatsappNumber string
	StageID                string
	SegmentationID         string
	AssignedAgentID        string
	Tags                   []string
	CustomFields           []CustomField
	// Phone is the customer's number; PhoneField the body key it came in,
	// for error messages (default "phone").
	Phone      string
	PhoneField string

	// Set by Validate: the customer's number, when there is one.
	Number *phone.Number
}

// Validate checks and normalises the input: name and platformId are
// required; a WhatsApp contact needs the customer's number (Phone or
// internalWhatsappNumber), any other an e-mail. Every bad field is named.
func (c *ContactCreate) Validate() error {
	var v Validator
	c.Name = strings.TrimSpace(c.Name)
	c.Lastname = strings.TrimSpace(c.Lastname)
	c.Email = strings.TrimSpace(c.Email)
	c.InternalWhatsappNumber = strings.TrimSpace(c.InternalWhatsappNumber)
	c.Phone = strings.TrimSpace(c.Phone)
	c.StageID = strings.TrimSpace(c.StageID)
	c.SegmentationID = strings.TrimSpace(c.SegmentationID)
	c.AssignedAgentID = strings.TrimSpace(c.AssignedAgentID)
	if c.PhoneField == "" {
		c.PhoneField = "phone"
	}
	v.Required(c.Name, "name")
	if c.PlatformID == nil {
		v.Check(false, "platformId", "platformId is required (1 webchat, 2 WhatsApp, 3 Messenger, 4 Instagram, 5 Telegram).")
	} else {
		v.Check(validPlatform(*c.PlatformID), "platformId", "platformId must be 1 (webchat), 2 (WhatsApp), 3 (Messenger), 4 (Instagram), 5 (Telegram), 6 (portal) or 7 (code).")
	}
	whatsapp := c.PlatformID != nil && *c.PlatformID == PlatformWhatsApp
	if c.Email != "" {
		v.Check(ValidEmail(c.Email), "email", "email is not a valid e-mail address.")
	} else if c.PlatformID != nil && validPlatform(*c.PlatformID) && !whatsapp {
		v.Check(false, "email", "email is required for a contact that is not on WhatsApp (platformId other than 2).")
	}
	c.Number = nil
	if c.Phone != "" {
		c.Number = checkPhone(&v, c.PhoneField, c.Phone)
	}
	if c.InternalWhatsappNumber != "" {
		n := checkPhone(&v, "internalWhatsappNumber", c.InternalWhatsappNumber)
		if whatsapp && c.Phone == "" {
			c.Number = n
		}
	} else if whatsapp && c.Phone == "" {
		v.Check(false, "internalWhatsappNumber", "internalWhatsappNumber is required for a WhatsApp contact (platformId 2): the customer's number, e.g. +51987654321 (or send it as phone).")
	}
	c.Tags = checkTagIDs(&v, "tags", c.Tags)
	checkCustomFields(&v, c.CustomFields)
	return v.Err()
}

func validPlatform(id int) bool { return id >= PlatformWebchat && id <= PlatformCode }

// checkPhone normalises s, recording an error against field when it is
// not a phone number.
func checkPhone(v *Validator, field, s string) *phone.Number {
	n, err := phone.Normalize(s)
	if err != nil {
		v.Check(false, field, fmt.Sprintf("%s is not a valid phone number: %s.", field, err))
		return nil
	}
	return &n
}

// checkTagIDs trims the ids, refuses empty ones and drops repeats.
func checkTagIDs(v *Validator, field string, ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			v.Check(false, field, field+" must hold tag ids, not empty strings.")
			continue
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func checkCustomFields(v *Validator, fs []CustomField) {
	for _, f := range fs {
		if f.Code == "" {
			v.Check(false, "customFields", "Every custom field needs a code (or name).")
			return
		}
	}
}

// ContactUpdate is a partial update of a contact: a nil field is left as
// it is. For the nullable references (SegmentationID, AssignedAgentID),
// Email and Phone, an empty string clears the value. Tags replaces the
// contact's set of tags; CustomFields is merged into the contact's by code
// (a null value removes that field).
type ContactUpdate struct {
	Name            *string
	Lastname        *string
	Email           *string
	StageID         *string
	SegmentationID  *string
	AssignedAgentID *string
	Tags            *[]string
	CustomFields    *[]CustomField
	IsBotEnabled    *bool
	IsSolved        *bool
	IsRead          *bool
	Blocked         *bool
	// Phone is the customer's number; PhoneField the body key it came in.
	Phone      *string
	PhoneField string

	// Set by Validate: the new number, when Phone is set and not empty.
	Number *phone.Number
}

// Empty reports whether the update changes nothing.
func (u *ContactUpdate) Empty() bool {
	return u.Name == nil && u.Lastname == nil && u.Email == nil && u.StageID == nil && u.SegmentationID == nil &&
		u.AssignedAgentID == nil && u.Tags == nil && u.CustomFields == nil && u.IsBotEnabled == nil &&
		u.IsSolved == nil && u.IsRead == nil && u.Blocked == nil && u.Phone == nil
}

// Validate checks the fields that are set, on their own; the rules that
// depend on the stored contact (a WhatsApp contact keeps a number, others
// an e-mail) are the service's.
func (u *ContactUpdate) Validate() error {
	var v Validator
	if u.Empty() {
		return Invalid(FieldError{Field: "body", Message: "Nothing to update: send one of " + strings.Join(ContactUpdatableFields, ", ") + "."})
	}
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	for _, p := range []*string{u.Name, u.Lastname, u.Email, u.StageID, u.SegmentationID, u.AssignedAgentID, u.Phone} {
		trim(p)
	}
	if u.PhoneField == "" {
		u.PhoneField = "phone"
	}
	if u.Name != nil {
		v.Required(*u.Name, "name")
	}
	if u.Email != nil && *u.Email != "" {
		v.Check(ValidEmail(*u.Email), "email", "email is not a valid e-mail address.")
	}
	if u.StageID != nil {
		v.Check(*u.StageID != "", "stageId", "stageId must be a stage id; a contact cannot leave its pipeline.")
	}
	u.Number = nil
	if u.Phone != nil && *u.Phone != "" {
		u.Number = checkPhone(&v, u.PhoneField, *u.Phone)
	}
	if u.Tags != nil {
		*u.Tags = checkTagIDs(&v, "tags", *u.Tags)
	}
	if u.CustomFields != nil {
		checkCustomFields(&v, *u.CustomFields)
	}
	return v.Err()
}

// ContactUpdatableFields are the body keys Update Contact applies (Plazbot
// §3.4 names the first five; Plaza adds the rest). phone has the aliases
// cellphone and platformSenderPhone.
var ContactUpdatableFields = []string{"name", "lastname", "email", "stageId", "segmentationId", "tags", "customFields",
	"assignedAgentId", "isBotEnabled", "isSolved", "isRead", "blocked", "phone"}

// ContactFilter narrows a contact list; zero fields do not filter.
type ContactFilter struct {
	StageID         string
	AssignedAgentID string
	TagID           string
	UpdatedSince    *Time
	// Query matches, case-insensitively, part of the name, last name,
	// full name, e-mail, platform sender name, or (when it looks like a
	// phone number) the digits of the phone.
	Query string
}

// ContactActivity is a note on a contact's history.
type ContactActivity struct {
	ID           string `json:"id"`
	Content      string `json:"content"`
	CategoryType string `json:"categoryType"`
	ActorType    string `json:"actorType"`
	ActorID      string `json:"actorId"`
	CreationDate Time   `json:"creationDate"`
}

// ContactService manages the contacts of the caller's workspace. A
// contact of another workspace, or a deleted one, is ENOTFOUND everywhere.
type ContactService interface {
	// FindContacts lists live contacts, newest first, one page at a time;
	// more reports whether another page follows.
	FindContacts(ctx context.Context, filter ContactFilter, page Page) (contacts []Contact, more bool, err error)
	FindContactByID(ctx context.Context, id string) (*Contact, error)
	// FindContactByEmail compares e-mails case-insensitively.
	FindContactByEmail(ctx context.Context, email string) (*Contact, error)
	// FindContactByPhone finds the contact with any variant of the number
	// (see package phone); EINVALID when it is not a phone number.
	FindContactByPhone(ctx context.Context, number string) (*Contact, error)
	// CreateContact creates a contact. ECONFLICT, with Data
	// {"contactId": <existing id>}, when a live contact of the workspace
	// has the same number (any variant) or e-mail (any case); EINVALID for
	// bad input or an unknown stage, segmentation, agent or tag.
	CreateContact(ctx context.Context, in ContactCreate) (*Contact, error)
	// UpdateContact applies a partial update, with the same conflicts and
	// reference checks as CreateContact. A stage change is recorded in the
	// stage history.
	UpdateContact(ctx context.Context, id string, upd ContactUpdate) (*Contact, error)
	// AddContactActivity records a note on the contact's history.
	AddContactActivity(ctx context.Context, contactID, content, categoryType string) (*ContactActivity, error)
	// FindContactActivities lists a contact's activities, newest first.
	FindContactActivities(ctx context.Context, contactID string, page Page) (activities []ContactActivity, more bool, err error)
	// DeleteContacts soft-deletes the contacts, all or none: when any id
	// is not a live contact of the workspace, ENOTFOUND names them and
	// nothing is deleted. It returns the ids deleted, repeats removed.
	DeleteContacts(ctx context.Context, ids []string) (deleted []string, err error)
}
