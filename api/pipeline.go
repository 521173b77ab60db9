package api

import (
	"net/http"

	"github.com/plaza-crm/plaza"
)

// Pipelines and their stages are Plaza's extension. Every member reads
// them; owners and admins change them.

func (s *Server) handlePipelineList(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Pipelines.FindPipelines(r.Context())
	if err != nil {
		return err
	}
	return ok(w, "List obtained successfully.", list)
}

func (s *Server) handleStageCreate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	in := plaza.StageCreate{Name: b.str("name"), Color: b.str("color"), Order: b.integer("order")}
	if err := b.check(in.Validate()); err != nil {
		return err
	}
	st, err := s.Pipelines.CreateStage(r.Context(), r.PathValue("pipelineId"), in)
	if err != nil {
		return err
	}
	return ok(w, "Stage created successfully.", st)
}

// handleStageReorder takes {stageIds: [...]}, the pipeline's complete new
// order.
func (s *Server) handleStageReorder(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	ids := b.strs("stageIds")
	if _, given := b.value("stageIds"); !given {
		b.invalid("stageIds", "stageIds is required: every stage id of the pipeline, in the new order.")
	}
	if err := b.check(nil); err != nil {
		return err
	}
	p, err := s.Pipelines.ReorderStages(r.Context(), r.PathValue("pipelineId"), ids)
	if err != nil {
		return err
	}
	return ok(w, "Stages reordered successfully.", p)
}

func (s *Server) handleStageUpdate(w http.ResponseWriter, r *http.Request) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	upd := plaza.StageUpdate{Name: b.str("name"), Color: b.str("color"), IsDefault: b.boolean("isDefault")}
	if err := b.check(upd.Validate()); err != nil {
		return err
	}
	st, err := s.Pipelines.UpdateStage(r.Context(), r.PathValue("pipelineId"), r.PathValue("stageId"), upd)
	if err != nil {
		return err
	}
	return ok(w, "Stage updated successfully.", st)
}

// handleStageDelete deletes a stage; ?moveTo= names the stage its records
// move to.
func (s *Server) handleStageDelete(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Pipelines.DeleteStage(r.Context(), r.PathValue("pipelineId"), r.PathValue("stageId"), query(r, "moveTo"))
	if err != nil {
		return err
	}
	return ok(w, "Stage deleted successfully.", d)
}
