package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
)

// opportunityWritten is the data of Create and Update Opportunity:
// {id, opportunity} (reference §3.13, §3.13b). The old update reply's
// misspelled "oportunity" key is not emitted.
type opportunityWritten struct {
	ID          string             `json:"id"`
	Opportunity *plaza.Opportunity `json:"opportunity"`
}

// handleOpportunityList serves a page of opportunities, newest first,
// filtered by Plaza's extension parameters.
func (s *Server) handleOpportunityList(w http.ResponseWriter, r *http.Request) error {
	p, err := plaza.RequireWorkspace(r.Context())
	if err != nil {
		return err
	}
	after, err := s.pageAfter(r, "opportunities")
	if err != nil {
		return err
	}
	f := plaza.OpportunityFilter{
		StageID:         query(r, "stageId"),
		AssignedAgentID: query(r, "assignedAgentId"),
		ContactID:       query(r, "contactId"),
		Q:               query(r, "q"),
		Page:            plaza.Page{After: after},
	}
	if f.AssignedAgentID == "" {
		f.AssignedAgentID = query(r, "assignedComercialId")
	}
	if v := query(r, "winLossStatus"); v != "" {
		n, err := strconv.Atoi(v)
		st := plaza.WinLossStatus(n)
		if err != nil || !st.Valid() {
			return plaza.Invalid(plaza.FieldError{Field: "winLossStatus", Message: "winLossStatus must be 0 (open), 1 (won) or 2 (lost)."})
		}
		f.WinLossStatus = &st
	}
	if f.UpdatedSince, err = queryTime(r, "updatedSince"); err != nil {
		return err
	}
	list, more, err := s.Opportunities.FindOpportunities(r.Context(), f)
	if err != nil {
		return err
	}
	last := ""
	if len(list) > 0 {
		last = list[len(list)-1].ID
	}
	return ok(w, "List obtained successfully.", listPage[plaza.Opportunity]{
		WorkspaceID:       p.WorkspaceID,
		ContinuationToken: s.nextPageToken(r, "opportunities", more, last),
		Data:              list,
	})
}

func (s *Server) handleOpportunityCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	in := plaza.OpportunityCreate{
		Name:                b.str("name"),
		Description:         b.str("description"),
		Amount:              b.num("amount"),
		AssignedComercialID: b.str("assignedComercialId"),
		AssignedAgentID:     b.str("assignedAgentId"),
		ContactID:           b.str("contactId"),
		StageID:             b.str("stageId"),
		ExpirationDate:      opportunityDate(b, "expirationDate"),
		SegmentationID:      b.str("segmentationId"),
		CustomFields:        opportunityCustomFields(b, "customFields"),
	}
	if err := b.check(in.Validate()); err != nil {
		return err
	}
	o, err := s.Opportunities.CreateOpportunity(r.Context(), in)
	if err != nil {
		return err
	}
	return ok(w, "Opportunity successfully created.", opportunityWritten{ID: o.ID, Opportunity: o})
}

// opportunityUpdate is what Update Opportunity sets, its fields in the
// order they are read, so errors name them in a stable order.
// assignedComercialId is the create body's name for assignedAgentId.
var opportunityUpdate = updateForm{
	fields: []string{"name", "description", "amount", "finalAmount", "stageId", "contactId",
		"assignedAgentId", "expirationDate", "segmentationId", "customFields"},
	aliases: map[string]string{"assignedComercialId": "assignedAgentId"},
}

// handleOpportunityUpdate serves PUT /api/opportunity?id=, in Plazbot's
// update forms (see body.updateFields); with paramToUpdate, only the field
// it names is set.
func (s *Server) handleOpportunityUpdate(w http.ResponseWriter, r *http.Request) error {
	id := query(r, "id")
	if id == "" {
		return plaza.Invalid(plaza.FieldError{Field: "id", Message: "id is required (the opportunity's id, in the query)."})
	}
	b, err := readBody(r)
	if err != nil {
		return err
	}
	fields, err := b.updateFields(opportunityUpdate)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return plaza.Invalid(plaza.FieldError{Field: "body",
			Message: "Nothing to update: send one of " + strings.Join(opportunityUpdate.fields, ", ") + "."})
	}
	var upd plaza.OpportunityUpdate
	for _, field := range opportunityUpdate.fields {
		key, ok := fields[field]
		if !ok {
			continue
		}
		switch field {
		case "name":
			b.notNull(key)
			upd.Name = b.str(key)
		case "description":
			b.notNull(key)
			upd.Description = b.str(key)
		case "amount":
			b.notNull(key)
			upd.Amount = b.num(key)
		case "finalAmount":
			b.notNull(key)
			upd.FinalAmount = b.num(key)
		case "stageId":
			b.notNull(key)
			upd.StageID = b.str(key)
		case "contactId":
			upd.ContactID = b.clearable(key)
		case "assignedAgentId":
			upd.AssignedAgentID = b.clearable(key)
		case "segmentationId":
			upd.SegmentationID = b.clearable(key)
		case "expirationDate":
			upd.ExpirationDate = opportunityDate(b, key)
			if upd.ExpirationDate == nil {
				upd.ExpirationDate = &plaza.Time{}
			}
		case "customFields":
			cf := opportunityCustomFields(b, key)
			if cf == nil {
				cf = []plaza.OpportunityCustomField{}
			}
			upd.CustomFields = &cf
		}
	}
	if err := b.check(upd.Validate()); err != nil {
		return err
	}
	o, err := s.Opportunities.UpdateOpportunity(r.Context(), id, upd)
	if key := fields["assignedAgentId"]; err != nil && key != "" {
		err = renameField(err, "assignedAgentId", key)
	}
	if err != nil {
		return err
	}
	return ok(w, "Opportunity updated successfully.", opportunityWritten{ID: o.ID, Opportunity: o})
}

// opportunityDate reads a date field where "" counts as null, as
// Plazbot's clients send it for no date.
func opportunityDate(b *body, name string) *plaza.Time {
	var s string
	if v, ok := b.value(name); ok && json.Unmarshal(v, &s) == nil && strings.TrimSpace(s) == "" {
		return nil
	}
	return b.time(name)
}

// opportunityCustomFields reads an array of {name, value} (code is read as
// name); nil when absent or null.
func opportunityCustomFields(b *body, name string) []plaza.OpportunityCustomField {
	v, ok := b.value(name)
	if !ok {
		return nil
	}
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		b.invalid(name, name+" must be an array of {name, value} objects.")
		return nil
	}
	out := []plaza.OpportunityCustomField{}
	for i, item := range items {
		f := plaza.OpportunityCustomField{Value: json.RawMessage("null")}
		for k, v := range item {
			switch strings.ToLower(k) {
			case "name", "code":
				if err := json.Unmarshal(v, &f.Name); err != nil {
					b.invalid(name, fmt.Sprintf("%s[%d].name must be a string.", name, i))
					return nil
				}
			case "value":
				f.Value = v
			}
		}
		out = append(out, f)
	}
	return out
}

// renameField makes an EINVALID error name a field as the client spelled
// it (an alias).
func renameField(err error, from, to string) error {
	var e *plaza.Error
	if from == to || !errors.As(err, &e) || e.Code != plaza.EINVALID {
		return err
	}
	fields := make([]plaza.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		if f.Field == from {
			f.Field = to
		}
		fields[i] = f
	}
	return plaza.Invalid(fields...)
}

func (s *Server) handleOpportunityGet(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Opportunities.FindOpportunityByID(r.Context(), r.PathValue("opportunityId"))
	if err != nil {
		return err
	}
	return ok(w, "Successfully obtained list.", o)
}

// handleOpportunityDelete serves both DELETE /api/opportunity/{id} and
// DELETE /api/opportunity?id= (reference §3.15: the path is inferred).
func (s *Server) handleOpportunityDelete(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("opportunityId")
	if id == "" {
		id = query(r, "id")
	}
	if id == "" {
		return plaza.Invalid(plaza.FieldError{Field: "id", Message: "id is required (the opportunity's id, in the path or the query)."})
	}
	if err := s.Opportunities.DeleteOpportunity(r.Context(), id); err != nil {
		return err
	}
	return ok(w, "Opportunity deleted successfully.", map[string]string{"id": id})
}

func (s *Server) handleOpportunityActivityCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	in := plaza.OpportunityActivityCreate{Content: b.str("content"), Date: opportunityDate(b, "date"), CategoryType: b.str("categoryType")}
	if err := b.check(in.Validate()); err != nil {
		return err
	}
	if _, err := s.Opportunities.CreateOpportunityActivity(r.Context(), r.PathValue("opportunityId"), in); err != nil {
		return err
	}
	return ok(w, "The activity was recorded successfully.", nil)
}

func (s *Server) handleOpportunityActivityList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Opportunities.FindOpportunityActivities(r.Context(), r.PathValue("opportunityId"))
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", list)
}

// handleOpportunityWinLoss wins, loses or reopens an opportunity (Plaza's
// extension).
func (s *Server) handleOpportunityWinLoss(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	var wl plaza.WinLoss
	status := b.integer("winLossStatus")
	if status != nil {
		wl.Status = plaza.WinLossStatus(*status)
	}
	wl.FinalAmount = b.num("finalAmount")
	if reason := b.str("lossReason"); reason != nil {
		wl.LossReason = *reason
	}
	if d := opportunityDate(b, "date"); d != nil {
		wl.Date = *d
	}
	if _, given := b.value("winLossStatus"); !given {
		b.invalid("winLossStatus", "winLossStatus is required: 0 (open), 1 (won) or 2 (lost).")
	}
	if err := b.check(wl.Validate()); err != nil {
		return err
	}
	o, err := s.Opportunities.SetWinLoss(r.Context(), r.PathValue("opportunityId"), wl)
	if err != nil {
		return err
	}
	return ok(w, "Opportunity updated successfully.", opportunityWritten{ID: o.ID, Opportunity: o})
}

func (s *Server) handleOpportunityHistory(w http.ResponseWriter, r *http.Request) error {
	list, err := s.History.FindStageHistory(r.Context(), plaza.EntityOpportunity, r.PathValue("opportunityId"))
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", list)
}

func (s *Server) handleContactHistory(w http.ResponseWriter, r *http.Request) error {
	list, err := s.History.FindStageHistory(r.Context(), plaza.EntityContact, r.PathValue("contactId"))
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", list)
}
