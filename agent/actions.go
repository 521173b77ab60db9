package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/plaza-crm/plaza"
)

// Plazbot's actions: an AgentAction is one tool whose steps run in order
// on the conversation's contact. Step values name a user (action.asign),
// a tag (action.tag), a contact stage (action.stage) or a segmentation
// (action.segmentation) by id or by name; a tag named that does not exist
// yet is created. Calendar events (action.event.*) are kept as dated
// tasks of the contact: the event's title is the task's name, its start
// the task's expirationDate.

// actionParameters is the schema of an action's arguments: a reason (for
// the history and a handoff), and the event fields its event steps need.
func actionParameters(a *plaza.AgentAction) json.RawMessage {
	props := map[string]any{"reason": "Why you take this action, in a few words."}
	var req []string
	if hasStep(a, plaza.ActionEventAdd, plaza.ActionEventUpdate) {
		props["title"] = "The event's title, e.g. 'Dental check-up - Ana Pérez'."
		props["start"] = map[string]any{"type": "string", "format": "date-time",
			"description": "When the event starts, as YYYY-MM-DDTHH:MM in the agent's timezone."}
		props["description"] = "Details of the event."
	}
	if hasStep(a, plaza.ActionEventAdd) {
		req = append(req, "title", "start")
	}
	if hasStep(a, plaza.ActionEventUpdate, plaza.ActionEventDelete) {
		props["eventId"] = "The id of the event, as the event list gives it."
		req = append(req, "eventId")
	}
	return schema(props, req...)
}

// runAction runs the action's steps in order, stopping at the first that
// fails (the ones before it stay done, and the result says which).
func (t *toolbox) runAction(ctx context.Context, a *plaza.AgentAction, args map[string]any) (any, error) {
	out := map[string]any{"ok": true}
	var done []string
	for _, step := range a.Action {
		res, err := t.runStep(ctx, step, args)
		if err != nil {
			msg := step.Type + ": " + t.errText(step.Type, err)
			out["ok"], out["error"], out["done"] = false, msg, done
			return out, toolErr(msg)
		}
		done = append(done, step.Type)
		if res != nil {
			out[strings.TrimPrefix(step.Type, "action.")] = res
		}
	}
	out["done"] = done
	if a.ResponseMessage != "" {
		out["message"] = a.ResponseMessage
	}
	return out, nil
}

func isPlazaError(err error) bool {
	var e *plaza.Error
	return errors.As(err, &e)
}

// errNoContact refuses a contact's action in a turn without a contact.
var errNoContact = plaza.Errorf(plaza.EINVALID, "This conversation has no contact to act on.")

func (t *toolbox) runStep(ctx context.Context, step plaza.AgentActionStep, args map[string]any) (any, error) {
	contact := t.in.ContactID
	value := strings.TrimSpace(step.Value)
	if contact == "" && step.Type != plaza.ActionShutDown {
		return nil, errNoContact
	}
	update := func(u plaza.ContactUpdate) error {
		_, err := t.r.Contacts.UpdateContact(ctx, contact, u)
		return err
	}
	switch step.Type {
	case plaza.ActionAssign:
		if value == "" {
			return nil, plaza.Errorf(plaza.EINVALID, "The action names no user to assign.")
		}
		return nil, update(plaza.ContactUpdate{AssignedAgentID: &value})
	case plaza.ActionTag:
		tag, err := t.tag(ctx, value)
		if err != nil {
			return nil, err
		}
		c, err := t.r.Contacts.FindContactByID(ctx, contact)
		if err != nil {
			return nil, err
		}
		ids := []string{}
		for _, ct := range c.Tags {
			if ct.ID == tag.ID {
				return map[string]string{"tag": tag.Name}, nil // already there
			}
			ids = append(ids, ct.ID)
		}
		ids = append(ids, tag.ID)
		return map[string]string{"tag": tag.Name}, update(plaza.ContactUpdate{Tags: &ids})
	case plaza.ActionStage:
		stage, err := t.stage(ctx, plaza.PipelineContact, value)
		if err != nil {
			return nil, err
		}
		return map[string]string{"stage": stage.Name}, update(plaza.ContactUpdate{StageID: &stage.ID})
	case plaza.ActionSolved:
		yes := true
		return nil, update(plaza.ContactUpdate{IsSolved: &yes})
	case plaza.ActionShutDown:
		if contact != "" {
			no := false
			if err := update(plaza.ContactUpdate{IsBotEnabled: &no}); err != nil {
				return nil, err
			}
		}
		reason := str(args, "reason")
		if reason == "" {
			reason = HandoffShutDown
		}
		return nil, t.r.requestHandoff(ctx, t.in, t.res, reason)
	case plaza.ActionSegmentation:
		segs, err := t.r.Masters.FindSegmentations(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range segs {
			if s.ID == value || strings.EqualFold(s.Name, value) {
				return map[string]string{"segmentation": s.Name}, update(plaza.ContactUpdate{SegmentationID: &s.ID})
			}
		}
		return nil, plaza.Errorf(plaza.EINVALID, "The segmentation %q does not exist.", value)
	case plaza.ActionEventAdd, plaza.ActionEventUpdate, plaza.ActionEventDelete, plaza.ActionEventList:
		return t.event(ctx, step.Type, args)
	}
	return nil, plaza.Errorf(plaza.EINVALID, "Unknown action type %q.", step.Type)
}

// tag finds the workspace's tag named by id or name, creating a tag of
// that name when there is none. The agent's configuration, written by the
// workspace's admins, names it: creating it is theirs, so it is done with
// an admin's rights.
func (t *toolbox) tag(ctx context.Context, value string) (*plaza.Tag, error) {
	if value == "" {
		return nil, plaza.Errorf(plaza.EINVALID, "The action names no tag.")
	}
	tags, err := t.r.Masters.FindTags(ctx)
	if err != nil {
		return nil, err
	}
	for i := range tags {
		if tags[i].ID == value || strings.EqualFold(tags[i].Name, value) {
			return &tags[i], nil
		}
	}
	admin := *plaza.PrincipalFromContext(ctx)
	admin.Role = plaza.RoleAdmin
	tag, err := t.r.Masters.CreateTag(plaza.NewContextWithPrincipal(ctx, &admin), plaza.MasterCreate{Name: value})
	var e *plaza.Error
	if errors.As(err, &e) && e.Code == plaza.ECONFLICT {
		// Created meanwhile by someone else: take it.
		if tags, err := t.r.Masters.FindTags(ctx); err == nil {
			for i := range tags {
				if strings.EqualFold(tags[i].Name, value) {
					return &tags[i], nil
				}
			}
		}
	}
	return tag, err
}

// stage finds a stage of the pipeline by id or name.
func (t *toolbox) stage(ctx context.Context, pipeline plaza.Pipeline, value string) (*plaza.Stage, error) {
	if value == "" {
		return nil, plaza.Errorf(plaza.EINVALID, "No stage named.")
	}
	ps, err := t.r.Pipelines.FindPipelines(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range ps {
		if p.ID != pipeline {
			continue
		}
		for i := range p.Stages {
			if p.Stages[i].ID == value || strings.EqualFold(p.Stages[i].Name, value) {
				return &p.Stages[i], nil
			}
			names = append(names, p.Stages[i].Name)
		}
	}
	return nil, plaza.Errorf(plaza.EINVALID, "There is no stage %q; the stages are: %s.", value, strings.Join(names, ", "))
}

// event runs a calendar step on the contact's dated tasks.
func (t *toolbox) event(ctx context.Context, kind string, args map[string]any) (any, error) {
	switch kind {
	case plaza.ActionEventList:
		tasks, _, err := t.r.Tasks.FindTasks(ctx, plaza.TaskFilter{ContactID: t.in.ContactID, Page: plaza.Page{Limit: 50}})
		if err != nil {
			return nil, err
		}
		events := []map[string]any{}
		for _, task := range tasks {
			if task.ExpirationDate != nil {
				events = append(events, eventJSON(&task, t.loc()))
			}
		}
		return events, nil
	case plaza.ActionEventAdd:
		title, start, err := t.eventFields(args, true)
		if err != nil {
			return nil, err
		}
		desc := str(args, "description")
		if desc == "" {
			desc = title
		}
		contact := t.in.ContactID
		task, err := t.r.Tasks.CreateTask(ctx, plaza.TaskCreate{WorkspaceID: t.in.WorkspaceID, Name: title, Description: desc,
			ExpirationDate: start, ContactID: &contact})
		if err != nil {
			return nil, err
		}
		return eventJSON(task, t.loc()), nil
	}
	id := str(args, "eventId")
	task, err := t.r.Tasks.FindTaskByID(ctx, id)
	if err != nil || task.ContactID == nil || *task.ContactID != t.in.ContactID {
		// The agent sees only its customer's events.
		return nil, plaza.Errorf(plaza.ENOTFOUND, "There is no event %q of this customer.", id)
	}
	if kind == plaza.ActionEventDelete {
		return map[string]string{"deleted": id}, t.r.Tasks.DeleteTask(ctx, id)
	}
	title, start, err := t.eventFields(args, false)
	if err != nil {
		return nil, err
	}
	upd := plaza.TaskUpdate{}
	if title != "" {
		upd.Name = &title
	}
	if start != nil {
		upd.ExpirationDate, upd.SetExpirationDate = start, true
	}
	if d := str(args, "description"); d != "" {
		upd.Description = &d
	}
	if upd.Empty() {
		return nil, plaza.Errorf(plaza.EINVALID, "Say what changes: title, start or description.")
	}
	task, err = t.r.Tasks.UpdateTask(ctx, id, upd)
	if err != nil {
		return nil, err
	}
	return eventJSON(task, t.loc()), nil
}

func (t *toolbox) eventFields(args map[string]any, required bool) (string, *plaza.Time, error) {
	title, s := str(args, "title"), str(args, "start")
	if required && (title == "" || s == "") {
		return "", nil, plaza.Errorf(plaza.EINVALID, "An event needs a title and a start.")
	}
	if s == "" {
		return title, nil, nil
	}
	start, err := parseLocalTime(s, t.loc())
	if err != nil {
		return "", nil, err
	}
	return title, &start, nil
}

// loc is the agent's timezone (UTC when unset or unknown).
func (t *toolbox) loc() *time.Location {
	if t.in.Agent.Timezone != "" {
		if l, err := time.LoadLocation(t.in.Agent.Timezone); err == nil {
			return l
		}
	}
	return time.UTC
}

// parseLocalTime reads a date-time the LLM wrote: with a zone as it says,
// without one in loc.
func parseLocalTime(s string, loc *time.Location) (plaza.Time, error) {
	if v, err := time.Parse(time.RFC3339, s); err == nil {
		return plaza.NewTime(v), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if v, err := time.ParseInLocation(layout, s, loc); err == nil {
			return plaza.NewTime(v), nil
		}
	}
	return plaza.Time{}, plaza.Errorf(plaza.EINVALID, "%q is not a date and time like 2025-04-08T15:30.", s)
}

func eventJSON(task *plaza.Task, loc *time.Location) map[string]any {
	e := map[string]any{"eventId": task.ID, "title": task.Name, "description": task.Description}
	if task.ExpirationDate != nil {
		e["start"] = task.ExpirationDate.In(loc).Format("2006-01-02T15:04")
	}
	return e
}
