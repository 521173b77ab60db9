package plaza

import (
	"context"
	"strings"
	"unicode/utf8"
)

// The workspace masters tags and segmentations (Tag and Segmentation are in
// workspace.go) are Plaza's extension: Plazbot's API only lists them, in
// Get Workspace by ID. Contacts and opportunities refer to them by id, so a
// workspace manages them here and a reference to an unknown one is refused.

// DefaultMasterColor is the colour of a tag or segmentation created without
// one.
const DefaultMasterColor = "#64748b"

// MaxMasterNameLength bounds the name of a tag or segmentation.
const MaxMasterNameLength = 100

// MasterCreate is the input of creating a tag or segmentation.
type MasterCreate struct {
	Name  string `json:"name"`
	Color string `json:"color"`
}

// Validate trims the name, lower-cases the colour and gives it the default.
func (in *MasterCreate) Validate() error {
	var v Validator
	in.Name = strings.TrimSpace(in.Name)
	v.Required(in.Name, "name")
	v.Check(utf8.RuneCountInString(in.Name) <= MaxMasterNameLength, "name", "name must be at most 100 characters long.")
	in.Color = strings.ToLower(strings.TrimSpace(in.Color))
	if in.Color == "" {
		in.Color = DefaultMasterColor
	}
	v.Check(ValidColor(in.Color), "color", `color must be a hex colour like "#3b82f6".`)
	return v.Err()
}

// MasterUpdate changes the name and/or colour of a tag or segmentation;
// nil leaves a field alone.
type MasterUpdate struct {
	Name  *string
	Color *string
}

// Validate checks the update as MasterCreate.Validate does; an update that
// changes nothing is EINVALID.
func (u *MasterUpdate) Validate() error {
	if u.Name == nil && u.Color == nil {
		return Invalid(FieldError{Field: "body", Message: "The update names no field to change (name, color)."})
	}
	var v Validator
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		v.Required(*u.Name, "name")
		v.Check(utf8.RuneCountInString(*u.Name) <= MaxMasterNameLength, "name", "name must be at most 100 characters long.")
	}
	if u.Color != nil {
		*u.Color = strings.ToLower(strings.TrimSpace(*u.Color))
		v.Check(ValidColor(*u.Color), "color", `color must be a hex colour like "#3b82f6".`)
	}
	return v.Err()
}

// ValidColor reports whether s is a colour as "#rrggbb".
func ValidColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// MasterService manages the tags and segmentations of the caller's
// workspace. Every member may list them; only owners and admins create,
// change or delete them (else EFORBIDDEN). Names are unique per workspace
// regardless of case: a clash is ECONFLICT whose Data is {"id": <the
// existing record's id>}. Another workspace's record is ENOTFOUND.
type MasterService interface {
	// FindTags lists the tags, sorted by name.
	FindTags(ctx context.Context) ([]Tag, error)
	CreateTag(ctx context.Context, in MasterCreate) (*Tag, error)
	UpdateTag(ctx context.Context, id string, upd MasterUpdate) (*Tag, error)
	// DeleteTag deletes a tag and takes it off every contact that has it.
	DeleteTag(ctx context.Context, id string) error

	// FindSegmentations lists the segmentations, sorted by name.
	FindSegmentations(ctx context.Context) ([]Segmentation, error)
	CreateSegmentation(ctx context.Context, in MasterCreate) (*Segmentation, error)
	UpdateSegmentation(ctx context.Context, id string, upd MasterUpdate) (*Segmentation, error)
	// DeleteSegmentation deletes a segmentation. One that live contacts or
	// opportunities belong to is ECONFLICT (Data counts them) unless force,
	// which first takes it off them; both in one transaction.
	DeleteSegmentation(ctx context.Context, id string, force bool) error
}
