package api

import (
	"net/http"
	"strconv"

	"github.com/plaza-crm/plaza"
)

// Tags and segmentations, Plaza's extension: any member lists them; owners
// and admins create, change and delete them.

// masterUpdate is what a tag or segmentation update sets.
var masterUpdate = updateForm{fields: []string{"name", "color"}}

// readMasterCreate reads the body of creating a tag or segmentation. A
// body of the wrong types is refused here, naming what validation finds
// too; otherwise the service, which first checks the caller may write,
// validates.
func readMasterCreate(r *http.Request) (plaza.MasterCreate, error) {
	b, err := readBody(r)
	if err != nil {
		return plaza.MasterCreate{}, err
	}
	var in plaza.MasterCreate
	if v := b.str("name"); v != nil {
		in.Name = *v
	}
	if v := b.str("color"); v != nil {
		in.Color = *v
	}
	if b.err() != nil {
		return in, b.check(in.Validate())
	}
	return in, nil
}

// readMasterUpdate reads the body of updating a tag or segmentation, in
// any of Plazbot's update forms, as readMasterCreate does.
func readMasterUpdate(r *http.Request) (plaza.MasterUpdate, error) {
	var upd plaza.MasterUpdate
	b, err := readBody(r)
	if err != nil {
		return upd, err
	}
	fields, err := b.updateFields(masterUpdate)
	if err != nil {
		return upd, err
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{{"name", &upd.Name}, {"color", &upd.Color}} {
		if _, ok := fields[f.name]; ok {
			v := b.str(f.name)
			if v == nil { // null: refused by Validate as empty
				v = new(string)
			}
			*f.dst = v
		}
	}
	if b.err() != nil {
		return upd, b.check(upd.Validate())
	}
	return upd, nil
}

func (s *Server) handleTagList(w http.ResponseWriter, r *http.Request) error {
	tags, err := s.Masters.FindTags(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", tags)
}

func (s *Server) handleTagCreate(w http.ResponseWriter, r *http.Request) error {
	in, err := readMasterCreate(r)
	if err != nil {
		return err
	}
	t, err := s.Masters.CreateTag(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Tag created successfully.", t)
}

func (s *Server) handleTagUpdate(w http.ResponseWriter, r *http.Request) error {
	upd, err := readMasterUpdate(r)
	if err != nil {
		return err
	}
	t, err := s.Masters.UpdateTag(r.Context(), r.PathValue("tagId"), upd)
	if err != nil {
		return err
	}
	return ok(w, "Tag updated successfully.", t)
}

func (s *Server) handleTagDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("tagId")
	if err := s.Masters.DeleteTag(r.Context(), id); err != nil {
		return err
	}
	return ok(w, "Tag deleted successfully.", map[string]string{"id": id})
}

func (s *Server) handleSegmentationList(w http.ResponseWriter, r *http.Request) error {
	segs, err := s.Masters.FindSegmentations(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", segs)
}

func (s *Server) handleSegmentationCreate(w http.ResponseWriter, r *http.Request) error {
	in, err := readMasterCreate(r)
	if err != nil {
		return err
	}
	seg, err := s.Masters.CreateSegmentation(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Segmentation created successfully.", seg)
}

func (s *Server) handleSegmentationUpdate(w http.ResponseWriter, r *http.Request) error {
	upd, err := readMasterUpdate(r)
	if err != nil {
		return err
	}
	seg, err := s.Masters.UpdateSegmentation(r.Context(), r.PathValue("segmentationId"), upd)
	if err != nil {
		return err
	}
	return ok(w, "Segmentation updated successfully.", seg)
}

// handleSegmentationDelete deletes a segmentation; one in use is refused
// unless ?force=true.
func (s *Server) handleSegmentationDelete(w http.ResponseWriter, r *http.Request) error {
	force := false
	if v := query(r, "force"); v != "" {
		var err error
		if force, err = strconv.ParseBool(v); err != nil {
			return plaza.Invalid(plaza.FieldError{Field: "force", Message: "force must be true or false."})
		}
	}
	id := r.PathValue("segmentationId")
	if err := s.Masters.DeleteSegmentation(r.Context(), id, force); err != nil {
		return err
	}
	return ok(w, "Segmentation deleted successfully.", map[string]string{"id": id})
}
