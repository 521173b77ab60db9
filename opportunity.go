package plaza

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Opportunity is a deal in the sales pipeline. Its JSON is exactly the
// object of Plazbot's Create Opportunity reply (reference §3.13, the seed
// page), key for key, plus customFields (reference §3.13b, S2-new).
type Opportunity struct {
	ID string `json:"id"`
	// OpportCode is the readable, per-workspace number: OPP-000042.
	OpportCode string `json:"opportCode"`
	// OpportStatus is always 1 (active), as in every Plazbot example.
	OpportStatus  int           `json:"opportStatus"`
	WinLossStatus WinLossStatus `json:"winLossStatus"`
	// WinLossDate is when the opportunity was won or lost; null while open.
	WinLossDate *Time `json:"winLossDate"`
	// FinalAmount is the amount it was won for (0 while open).
	FinalAmount  float64 `json:"finalAmount"`
	CreationDate Time    `json:"creationDate"`
	// CreationTypeID is always 1 (created by hand or through the API).
	CreationTypeID int   `json:"creationTypeId"`
	UpdatedDate    *Time `json:"updatedDate"`
	// DeletionDate and UserDeletion are never set on an opportunity the API
	// returns: a deleted one is not found.
	DeletionDate *Time   `json:"deletionDate"`
	UserDeletion *string `json:"userDeletion"`
	// StatusID is always 1 (active).
	StatusID int               `json:"statusId"`
	Files    []json.RawMessage `json:"files"`
	// OrderInCards is the card's position in its stage's column, from 1.
	OrderInCards            int  `json:"orderInCards"`
	OrderInCardsLastUpdated Time `json:"orderInCardsLastUpdated"`
	// Activities are its activities, newest first. Lists leave them empty.
	Activities     []OpportunityActivity `json:"activities"`
	SegmentationID *string               `json:"segmentationId"`
	WorkspaceID    string                `json:"workspaceId"`
	Name           string                `json:"name"`
	Description    string                `json:"description"`
	Amount         float64               `json:"amount"`
	// UserCreation is the id of the user who created it (an API key's owner).
	UserCreation string `json:"userCreation"`
	// ContactID is "" when the opportunity has no contact, as Plazbot's
	// list example shows.
	ContactID       string                   `json:"contactId"`
	ExpirationDate  *Time                    `json:"expirationDate"`
	AssignedAgentID *string                  `json:"assignedAgentId"`
	StageID         *string                  `json:"stageId"`
	CustomFields    []OpportunityCustomField `json:"customFields"`

	// LossReason is why a lost opportunity was lost. It is not part of
	// Plazbot's shape; the API shows it in the stage history.
	LossReason *string `json:"-"`
}

// WinLossStatus says whether an opportunity is open, won or lost.
type WinLossStatus int

const (
	WinLossOpen WinLossStatus = 0
	WinLossWon  WinLossStatus = 1
	WinLossLost WinLossStatus = 2
)

// Valid reports whether s is open, won or lost.
func (s WinLossStatus) Valid() bool { return s == WinLossOpen || s == WinLossWon || s == WinLossLost }

// OpportunityCustomField is one custom value of an opportunity
// (reference §3.13b: {name, value}). The value is any JSON value, kept as
// sent.
type OpportunityCustomField struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// OpportunityActivity is a call, meeting, WhatsApp or e-mail recorded on an
// opportunity (reference §3.16).
type OpportunityActivity struct {
	ID           string `json:"id"`
	Content      string `json:"content"`
	Date         Time   `json:"date"`
	CategoryType string `json:"categoryType"`
	// UserID is the user who recorded it (an API key's owner); null for an
	// AI agent.
	UserID       *string `json:"userId"`
	CreationDate Time    `json:"creationDate"`
}

// The activity categories of reference §1.6, as they are stored and shown.
var ActivityCategories = []string{"Calls", "Meeting", "Whatsapp", "Email"}

// CanonicalActivityCategory returns the category named s, matched
// case-insensitively, spelled as Plazbot spells it.
func CanonicalActivityCategory(s string) (string, bool) {
	for _, c := range ActivityCategories {
		if strings.EqualFold(strings.TrimSpace(s), c) {
			return c, true
		}
	}
	return "", false
}

// Limits on the text of an opportunity.
const (
	MaxOpportunityName        = 255
	MaxOpportunityDescription = 10000
	MaxActivityContent        = 10000
	MaxLossReason             = 1000
	MaxCustomFields           = 100
)

// OpportunityCreate is the body of Create Opportunity (reference §3.13).
// Pointers tell a missing field from a zero one.
type OpportunityCreate struct {
	Name        *string  `json:"name"`
	Description *string  `json:"description"`
	Amount      *float64 `json:"amount"`
	// AssignedComercialID is stored as assignedAgentId; assignedAgentId is
	// accepted as well.
	AssignedComercialID *string                  `json:"assignedComercialId"`
	AssignedAgentID     *string                  `json:"assignedAgentId"`
	ContactID           *string                  `json:"contactId"`
	StageID             *string                  `json:"stageId"`
	ExpirationDate      *Time                    `json:"expirationDate"`
	SegmentationID      *string                  `json:"segmentationId"`
	CustomFields        []OpportunityCustomField `json:"customFields"`
}

// Assignee returns the user the body assigns ("" for none):
// assignedComercialId, else its alias assignedAgentId. Validate refuses the
// two naming different users.
func (in *OpportunityCreate) Assignee() string {
	if in.AssignedComercialID != nil && *in.AssignedComercialID != "" {
		return *in.AssignedComercialID
	}
	if in.AssignedAgentID != nil {
		return *in.AssignedAgentID
	}
	return ""
}

// Validate checks the fields that need no database, naming every bad one.
func (in *OpportunityCreate) Validate() error {
	var v Validator
	checkOpportunityName(&v, in.Name, true)
	checkOpportunityDescription(&v, in.Description, true)
	checkOpportunityAmount(&v, "amount", in.Amount, true)
	if in.AssignedComercialID != nil && in.AssignedAgentID != nil && *in.AssignedComercialID != "" &&
		*in.AssignedAgentID != "" && *in.AssignedComercialID != *in.AssignedAgentID {
		v.Check(false, "assignedComercialId", "assignedComercialId and assignedAgentId name different users; send one.")
	}
	checkOpportunityCustomFields(&v, in.CustomFields)
	return v.Err()
}

func checkOpportunityName(v *Validator, name *string, required bool) {
	switch {
	case name == nil:
		v.Check(!required, "name", "name is required.")
	case strings.TrimSpace(*name) == "":
		v.Check(false, "name", "name cannot be empty.")
	case utf8.RuneCountInString(*name) > MaxOpportunityName:
		v.Check(false, "name", fmt.Sprintf("name is longer than %d characters.", MaxOpportunityName))
	}
}

func checkOpportunityDescription(v *Validator, d *string, required bool) {
	switch {
	case d == nil:
		v.Check(!required, "description", "description is required.")
	case strings.TrimSpace(*d) == "":
		v.Check(false, "description", "description cannot be empty.")
	case utf8.RuneCountInString(*d) > MaxOpportunityDescription:
		v.Check(false, "description", fmt.Sprintf("description is longer than %d characters.", MaxOpportunityDescription))
	}
}

func checkOpportunityAmount(v *Validator, field string, a *float64, required bool) {
	if a == nil {
		v.Check(!required, field, field+" is required.")
		return
	}
	v.Check(*a >= 0, field, field+" cannot be negative.")
}

func checkOpportunityCustomFields(v *Validator, fs []OpportunityCustomField) {
	if len(fs) > MaxCustomFields {
		v.Check(false, "customFields", fmt.Sprintf("customFields holds more than %d fields.", MaxCustomFields))
		return
	}
	seen := map[string]bool{}
	for i, f := range fs {
		name := strings.ToLower(strings.TrimSpace(f.Name))
		if name == "" {
			v.Check(false, "customFields", fmt.Sprintf("customFields[%d].name is required.", i))
			return
		}
		if seen[name] {
			v.Check(false, "customFields", fmt.Sprintf("customFields names %q twice.", f.Name))
			return
		}
		seen[name] = true
	}
}

// MergeCustomFields returns cur with each of upd's fields set: a field of
// the same name (compared case-insensitively) takes the new value in its
// place, a new name is appended.
func MergeCustomFields(cur, upd []OpportunityCustomField) []OpportunityCustomField {
	out := append([]OpportunityCustomField{}, cur...)
next:
	for _, f := range upd {
		f.Name = strings.TrimSpace(f.Name)
		if len(f.Value) == 0 {
			f.Value = json.RawMessage("null")
		}
		for i := range out {
			if strings.EqualFold(out[i].Name, f.Name) {
				out[i].Value = f.Value
				continue next
			}
		}
		out = append(out, f)
	}
	return out
}

// OpportunityUpdate is a change to an opportunity (reference §3.13b). A nil
// field is left as it is. For the fields that may be cleared, a pointer to
// "" (ids) or to the zero Time (expirationDate) clears them.
type OpportunityUpdate struct {
	Name            *string
	Description     *string
	Amount          *float64
	FinalAmount     *float64
	StageID         *string
	ContactID       *string
	AssignedAgentID *string
	ExpirationDate  *Time
	SegmentationID  *string
	// CustomFields are merged into the current ones by name.
	CustomFields *[]OpportunityCustomField
}

// Validate checks the fields that need no database.
func (u *OpportunityUpdate) Validate() error {
	var v Validator
	checkOpportunityName(&v, u.Name, false)
	checkOpportunityDescription(&v, u.Description, false)
	checkOpportunityAmount(&v, "amount", u.Amount, false)
	checkOpportunityAmount(&v, "finalAmount", u.FinalAmount, false)
	if u.StageID != nil {
		v.Check(*u.StageID != "", "stageId", "stageId cannot be empty: an opportunity is always in a stage.")
	}
	if u.CustomFields != nil {
		checkOpportunityCustomFields(&v, *u.CustomFields)
	}
	return v.Err()
}

// WinLoss wins, loses or reopens an opportunity.
type WinLoss struct {
	Status WinLossStatus
	// FinalAmount defaults to the opportunity's amount when won, 0 when lost.
	FinalAmount *float64
	// LossReason is required to lose.
	LossReason string
	// Date is when it was won or lost; now when zero.
	Date Time
}

// Validate checks the change.
func (w *WinLoss) Validate() error {
	var v Validator
	v.Check(w.Status.Valid(), "winLossStatus", "winLossStatus must be 0 (open), 1 (won) or 2 (lost).")
	checkOpportunityAmount(&v, "finalAmount", w.FinalAmount, false)
	if w.Status == WinLossLost {
		v.Check(strings.TrimSpace(w.LossReason) != "", "lossReason", "lossReason is required to mark an opportunity lost.")
	}
	v.Check(utf8.RuneCountInString(w.LossReason) <= MaxLossReason, "lossReason",
		fmt.Sprintf("lossReason is longer than %d characters.", MaxLossReason))
	return v.Err()
}

// OpportunityActivityCreate is the body of Create Activity for Opportunity.
type OpportunityActivityCreate struct {
	Content      *string `json:"content"`
	Date         *Time   `json:"date"`
	CategoryType *string `json:"categoryType"`
}

// Validate checks the activity, and spells its category as Plazbot does.
func (in *OpportunityActivityCreate) Validate() error {
	var v Validator
	switch {
	case in.Content == nil:
		v.Check(false, "content", "content is required.")
	case strings.TrimSpace(*in.Content) == "":
		v.Check(false, "content", "content cannot be empty.")
	case utf8.RuneCountInString(*in.Content) > MaxActivityContent:
		v.Check(false, "content", fmt.Sprintf("content is longer than %d characters.", MaxActivityContent))
	}
	v.Check(in.Date != nil && !in.Date.IsZero(), "date", "date is required (ISO 8601, e.g. 2025-04-08T15:00:00Z or 2025-04-08).")
	if in.CategoryType == nil || *in.CategoryType == "" {
		v.Check(false, "categoryType", "categoryType is required: one of "+strings.Join(ActivityCategories, ", ")+".")
	} else if c, ok := CanonicalActivityCategory(*in.CategoryType); !ok {
		v.Check(false, "categoryType", fmt.Sprintf("categoryType %q is not one of %s.", *in.CategoryType, strings.Join(ActivityCategories, ", ")))
	} else {
		in.CategoryType = &c
	}
	return v.Err()
}

// OpportunityFilter selects a page of opportunities, newest first. Empty
// fields do not filter.
type OpportunityFilter struct {
	StageID         string
	AssignedAgentID string
	ContactID       string
	WinLossStatus   *WinLossStatus
	// UpdatedSince keeps those updated (or, never updated, created) at or
	// after it.
	UpdatedSince *Time
	// Q matches name, description and opportCode, case-insensitively.
	Q    string
	Page Page
}

// OpportunityService manages the opportunities of the caller's workspace.
// Every method acts in the workspace of the context's principal; another
// workspace's opportunity, or a deleted one, is ENOTFOUND. Stage and
// win/loss changes are recorded in the stage history, attributed to the
// principal, in the same transaction.
type OpportunityService interface {
	// FindOpportunityByID returns an opportunity with its activities.
	FindOpportunityByID(ctx context.Context, id string) (*Opportunity, error)
	// FindOpportunities returns a page of opportunities (activities left
	// empty) and whether more follow.
	FindOpportunities(ctx context.Context, f OpportunityFilter) ([]Opportunity, bool, error)
	// CreateOpportunity creates an opportunity with the next opportCode, in
	// the given stage or the pipeline's default. EINVALID names bad fields
	// and ids that are not the workspace's.
	CreateOpportunity(ctx context.Context, in OpportunityCreate) (*Opportunity, error)
	// UpdateOpportunity applies the change and sets updatedDate.
	UpdateOpportunity(ctx context.Context, id string, upd OpportunityUpdate) (*Opportunity, error)
	// SetWinLoss wins, loses or reopens an opportunity. Asking for the
	// status it already has changes nothing and records nothing.
	SetWinLoss(ctx context.Context, id string, w WinLoss) (*Opportunity, error)
	// DeleteOpportunity soft-deletes an opportunity, recording when and by
	// whom.
	DeleteOpportunity(ctx context.Context, id string) error
	// CreateOpportunityActivity records an activity on an opportunity.
	CreateOpportunityActivity(ctx context.Context, opportunityID string, in OpportunityActivityCreate) (*OpportunityActivity, error)
	// FindOpportunityActivities lists an opportunity's activities, newest
	// first.
	FindOpportunityActivities(ctx context.Context, opportunityID string) ([]OpportunityActivity, error)
}
