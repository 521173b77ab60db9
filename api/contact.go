package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/plaza-crm/plaza"
)

// contactResult is the data of Create and Update Contact (Plazbot §3.4).
type contactResult struct {
	ID      string         `json:"id"`
	Contact *plaza.Contact `json:"contact"`
}

// contactLookup is the data of Get Contact By Id, Email and Phone: the
// Developer Hub's shape (Plazbot §3.5), a one-element list.
type contactLookup struct {
	ContactID string          `json:"contactId"`
	Data      []plaza.Contact `json:"data"`
}

func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	after, err := s.pageAfter(r, "contacts")
	if err != nil {
		return err
	}
	since, err := queryTime(r, "updatedSince")
	if err != nil {
		return err
	}
	f := plaza.ContactFilter{
		StageID:         query(r, "stageId"),
		AssignedAgentID: query(r, "assignedAgentId"),
		TagID:           query(r, "tag"),
		UpdatedSince:    since,
		Query:           query(r, "q"),
	}
	if f.Query == "" {
		f.Query = query(r, "search") // a Plazbot client's name for it
	}
	contacts, more, err := s.Contacts.FindContacts(r.Context(), f, plaza.Page{After: after})
	if err != nil {
		return err
	}
	last := ""
	if n := len(contacts); n > 0 {
		last = contacts[n-1].ID
	}
	return ok(w, "List obtained successfully.", listPage[plaza.Contact]{
		WorkspaceID: p.WorkspaceID, ContinuationToken: s.nextPageToken(r, "contacts", more, last), Data: contacts})
}

func (s *Server) handleContactCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name                   string              `json:"name"`
		Lastname               string              `json:"lastname"`
		Email                  string              `json:"email"`
		PlatformID             *int                `json:"platformId"`
		InternalWhatsappNumber string              `json:"internalWhatsappNumber"`
		StageID                string              `json:"stageId"`
		SegmentationID         string              `json:"segmentationId"`
		AssignedAgentID        string              `json:"assignedAgentId"`
		Phone                  string              `json:"phone"`
		Cellphone              string              `json:"cellphone"`
		PlatformSenderPhone    string              `json:"platformSenderPhone"`
		Tags                   contactTagIDs       `json:"tags"`
		CustomFields           []plaza.CustomField `json:"customFields"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	c := plaza.ContactCreate{
		Name: in.Name, Lastname: in.Lastname, Email: in.Email, PlatformID: in.PlatformID,
		InternalWhatsappNumber: in.InternalWhatsappNumber, StageID: in.StageID, SegmentationID: in.SegmentationID,
		AssignedAgentID: in.AssignedAgentID, Tags: in.Tags, CustomFields: in.CustomFields,
	}
	for _, ph := range []struct{ field, value string }{
		{"phone", in.Phone}, {"cellphone", in.Cellphone}, {"platformSenderPhone", in.PlatformSenderPhone},
	} {
		if strings.TrimSpace(ph.value) != "" {
			c.Phone, c.PhoneField = ph.value, ph.field
			break
		}
	}
	contact, err := s.Contacts.CreateContact(r.Context(), c)
	if err != nil {
		return err
	}
	return ok(w, "Contact created successfully.", contactResult{ID: contact.ID, Contact: contact})
}

func (s *Server) handleContactUpdate(w http.ResponseWriter, r *http.Request) error {
	id := query(r, "id")
	if id == "" {
		return plaza.Invalid(plaza.FieldError{Field: "id", Message: "id is required (the contact's id, in the query: ?id=)."})
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	upd, err := contactUpdateFromBody(b)
	if err != nil {
		return err
	}
	contact, err := s.Contacts.UpdateContact(r.Context(), id, upd)
	if err != nil {
		return err
	}
	return ok(w, "Contact updated successfully.", contactResult{ID: contact.ID, Contact: contact})
}

// contactUpdate is what Update Contact sets: plaza.ContactUpdatableFields,
// and cellphone and platformSenderPhone, phone's other names. They are
// fields of their own here, not form aliases, which would have to agree:
// of several sent, contactUpdateFromBody takes the first.
var contactUpdate = updateForm{
	fields: append(slices.Clone(plaza.ContactUpdatableFields), "cellphone", "platformSenderPhone"),
	value:  true,
}

// contactUpdateFromBody reads Update Contact's body in any of Plazbot's
// forms (§3.4): {"<field>": value}; {"paramToUpdate": "<field>",
// "<field>": value} (or "value": value); or several fields at once. Unlike
// the other updates, it applies every field the body has, paramToUpdate or
// not: paramToUpdate must name an updatable field that is there (or come
// with "value"). The string fields but name read null as "" (which clears
// what can be cleared; validation refuses the rest); name and the booleans
// cannot be null. Unknown keys are ignored; a value of the wrong type is
// refused naming the field.
func contactUpdateFromBody(b *body) (plaza.ContactUpdate, error) {
	var upd plaza.ContactUpdate
	if _, err := b.updateFields(contactUpdate); err != nil {
		return upd, err
	}
	b.notNull("name")
	upd.Name = b.str("name")
	upd.Lastname = b.clearable("lastname")
	upd.Email = b.clearable("email")
	upd.StageID = b.clearable("stageId")
	upd.SegmentationID = b.clearable("segmentationId")
	upd.AssignedAgentID = b.clearable("assignedAgentId")
	// The first of phone, cellphone and platformSenderPhone in the body is
	// the number; its key names it in errors.
	for _, key := range []string{"phone", "cellphone", "platformSenderPhone"} {
		if p := b.clearable(key); p != nil && upd.Phone == nil {
			upd.Phone, upd.PhoneField = p, key
		}
	}
	for _, f := range []struct {
		key string
		dst **bool
	}{{"isBotEnabled", &upd.IsBotEnabled}, {"isSolved", &upd.IsSolved}, {"isRead", &upd.IsRead}, {"blocked", &upd.Blocked}} {
		b.notNull(f.key)
		*f.dst = b.boolean(f.key)
	}
	// null tags clear them; null customFields change none.
	var tags contactTagIDs
	if b.decode("tags", &tags, "tags must be an array of tag ids.") {
		ids := []string(tags)
		upd.Tags = &ids
	}
	var cf []plaza.CustomField
	if b.decode("customFields", &cf, "customFields must be an array of {code, value} objects.") {
		upd.CustomFields = &cf
	}
	return upd, b.err()
}

// contactTagIDs reads a list of tag ids, each a string or an object with
// an id ({"id": "..."}, as tags are rendered).
type contactTagIDs []string

func (t *contactTagIDs) UnmarshalJSON(b []byte) error {
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return plaza.Invalid(plaza.FieldError{Field: "tags", Message: "tags must be an array of tag ids."})
	}
	ids := contactTagIDs{}
	for _, item := range items {
		var id string
		if err := json.Unmarshal(item, &id); err != nil {
			var obj struct {
				ID *string `json:"id"`
			}
			if err := json.Unmarshal(item, &obj); err != nil || obj.ID == nil {
				return plaza.Invalid(plaza.FieldError{Field: "tags", Message: "tags must be an array of tag ids."})
			}
			id = *obj.ID
		}
		ids = append(ids, id)
	}
	*t = ids
	return nil
}

func (s *Server) handleContactGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Contacts.FindContactByID(r.Context(), r.PathValue("contactId"))
	if err != nil {
		return err
	}
	return ok(w, "Successfully obtained list.", contactLookup{ContactID: c.ID, Data: []plaza.Contact{*c}})
}

func (s *Server) handleContactByEmail(w http.ResponseWriter, r *http.Request) error {
	email := strings.TrimSpace(query(r, "email"))
	if email == "" {
		return plaza.Invalid(plaza.FieldError{Field: "email", Message: "email is required."})
	}
	c, err := s.Contacts.FindContactByEmail(r.Context(), email)
	if err != nil {
		return err
	}
	return ok(w, "Successfully obtained list.", contactLookup{ContactID: c.ID, Data: []plaza.Contact{*c}})
}

func (s *Server) handleContactByPhone(w http.ResponseWriter, r *http.Request) error {
	number := strings.TrimSpace(query(r, "cellphone"))
	if number == "" {
		number = strings.TrimSpace(query(r, "phone"))
	}
	if number == "" {
		return plaza.Invalid(plaza.FieldError{Field: "cellphone", Message: "cellphone is required (the number with its country code, e.g. 51987654321)."})
	}
	c, err := s.Contacts.FindContactByPhone(r.Context(), number)
	if err != nil {
		return err
	}
	return ok(w, "Successfully obtained list.", contactLookup{ContactID: c.ID, Data: []plaza.Contact{*c}})
}

func (s *Server) handleContactActivityCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Content      *string `json:"content"`
		CategoryType string  `json:"categoryType"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Content == nil || strings.TrimSpace(*in.Content) == "" {
		return plaza.Invalid(plaza.FieldError{Field: "content", Message: "content is required."})
	}
	if _, err := s.Contacts.AddContactActivity(r.Context(), r.PathValue("contactId"), *in.Content, in.CategoryType); err != nil {
		return err
	}
	return ok(w, "The activity was recorded successfully.", nil)
}

func (s *Server) handleContactActivityList(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	contactID := r.PathValue("contactId")
	list := "contact-activities:" + contactID // a token is good for one contact's list
	after, err := s.pageAfter(r, list)
	if err != nil {
		return err
	}
	activities, more, err := s.Contacts.FindContactActivities(r.Context(), contactID, plaza.Page{After: after})
	if err != nil {
		return err
	}
	last := ""
	if n := len(activities); n > 0 {
		last = activities[n-1].ID
	}
	return ok(w, "List obtained successfully.", listPage[plaza.ContactActivity]{
		WorkspaceID: p.WorkspaceID, ContinuationToken: s.nextPageToken(r, list, more, last), Data: activities})
}

func (s *Server) handleContactDeleteBatch(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ContactIDs *[]json.RawMessage `json:"contactIds"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ContactIDs == nil || len(*in.ContactIDs) == 0 {
		return plaza.Invalid(plaza.FieldError{Field: "contactIds", Message: `contactIds is required: a non-empty array of {"ids": "<contactId>"} (or of ids).`})
	}
	var ids []string
	for _, item := range *in.ContactIDs {
		id, ok := contactBatchID(item)
		if !ok {
			return plaza.Invalid(plaza.FieldError{Field: "contactIds", Message: `Each item of contactIds must be {"ids": "<contactId>"} or a contact id string.`})
		}
		ids = append(ids, id)
	}
	deleted, err := s.Contacts.DeleteContacts(r.Context(), ids)
	if err != nil {
		return err
	}
	return ok(w, "Contacts deleted successfully.", map[string]any{"contactIds": deleted})
}

// contactBatchID reads one item of delete-batch's contactIds: Plazbot's
// {"ids": "<id>"} (the key matched case-insensitively, "id" accepted too)
// or a plain id string.
func contactBatchID(item json.RawMessage) (string, bool) {
	var id string
	if json.Unmarshal(item, &id) == nil {
		return id, strings.TrimSpace(id) != ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(item, &obj) != nil {
		return "", false
	}
	for k, raw := range obj {
		if k = strings.ToLower(k); k == "ids" || k == "id" {
			if json.Unmarshal(raw, &id) == nil && strings.TrimSpace(id) != "" {
				return id, true
			}
		}
	}
	return "", false
}
