package agent

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/llm"
)

// Plaza's CRM tools, offered to agents whose configuration lists them in
// crmTools. They act on the conversation's contact and its records only.
var crmTools = map[string]llm.Function{
	plaza.ToolUpdateContact: {Name: plaza.ToolUpdateContact,
		Description: "Save what the customer told you about themselves on their contact record.",
		Parameters: schema(map[string]any{
			"name":     "The customer's first name.",
			"lastname": "The customer's last name.",
			"email":    map[string]any{"type": "string", "format": "email", "description": "The customer's e-mail address."},
			"phone":    "The customer's phone number in international format, e.g. +51987654321.",
			"customFields": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"},
				"description": "Other facts as field code -> value, e.g. {\"company\": \"Acme\"}."},
		})},
	plaza.ToolCreateOpportunity: {Name: plaza.ToolCreateOpportunity,
		Description: "Create a sales opportunity for this customer when they show a concrete interest in buying.",
		Parameters: schema(map[string]any{
			"name":        "A short name of the deal, e.g. 'Sofá Oslo azul x2'.",
			"description": "What the customer wants, in one or two sentences.",
			"amount":      map[string]any{"type": "number", "description": "The expected amount, 0 when unknown."},
			"stage":       "The opportunity stage's name, when the customer's situation says which.",
		}, "name", "description")},
	plaza.ToolMoveOpportunityStage: {Name: plaza.ToolMoveOpportunityStage,
		Description: "Move this customer's opportunity to another stage of the sales pipeline.",
		Parameters: schema(map[string]any{
			"opportunityId": "The opportunity's id; omit it for the customer's most recent open opportunity.",
			"stage":         "The name of the stage to move it to.",
		}, "stage")},
	plaza.ToolCreateTask: {Name: plaza.ToolCreateTask,
		Description: "Create a follow-up task for the team about this customer.",
		Parameters: schema(map[string]any{
			"name":        "What is to be done, briefly.",
			"description": "The details the team needs.",
			"dueDate":     map[string]any{"type": "string", "format": "date-time", "description": "When it is due, as YYYY-MM-DDTHH:MM, if the customer said."},
		}, "name", "description")},
	plaza.ToolAddActivity: {Name: plaza.ToolAddActivity,
		Description: "Write a note on this customer's history for the team.",
		Parameters: schema(map[string]any{
			"content":      "The note.",
			"categoryType": "The kind of note, e.g. Note, Call, Whatsapp.",
		}, "content")},
}

func (t *toolbox) runCRM(ctx context.Context, name string, args map[string]any) (any, error) {
	contact := t.in.ContactID
	if contact == "" {
		return nil, errNoContact
	}
	switch name {
	case plaza.ToolUpdateContact:
		upd := plaza.ContactUpdate{}
		set := func(key string, p **string) {
			if v := str(args, key); v != "" {
				*p = &v
			}
		}
		set("name", &upd.Name)
		set("lastname", &upd.Lastname)
		set("email", &upd.Email)
		set("phone", &upd.Phone)
		if m, ok := args["customFields"].(map[string]any); ok && len(m) > 0 {
			var fs []plaza.CustomField
			for k, v := range m {
				b, _ := json.Marshal(v)
				fs = append(fs, plaza.CustomField{Code: strings.TrimSpace(k), Value: b})
			}
			upd.CustomFields = &fs
		}
		if upd.Empty() {
			return nil, plaza.Errorf(plaza.EINVALID, "Nothing to save: give name, lastname, email, phone or customFields.")
		}
		if err := upd.Validate(); err != nil {
			return nil, err
		}
		c, err := t.r.Contacts.UpdateContact(ctx, contact, upd)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "contactId": c.ID}, nil

	case plaza.ToolCreateOpportunity:
		n, d := str(args, "name"), str(args, "description")
		if d == "" {
			d = n
		}
		amount, err := number(args, "amount")
		if err != nil {
			return nil, err
		}
		in := plaza.OpportunityCreate{Name: &n, Description: &d, Amount: &amount, ContactID: &contact}
		if s := str(args, "stage"); s != "" {
			st, err := t.stage(ctx, plaza.PipelineOpportunity, s)
			if err != nil {
				return nil, err
			}
			in.StageID = &st.ID
		}
		if err := in.Validate(); err != nil {
			return nil, err
		}
		o, err := t.r.Opportunities.CreateOpportunity(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "opportunityId": o.ID, "opportCode": o.OpportCode}, nil

	case plaza.ToolMoveOpportunityStage:
		st, err := t.stage(ctx, plaza.PipelineOpportunity, str(args, "stage"))
		if err != nil {
			return nil, err
		}
		id := str(args, "opportunityId")
		if id != "" {
			o, err := t.r.Opportunities.FindOpportunityByID(ctx, id)
			if err != nil || o.ContactID != contact {
				return nil, plaza.Errorf(plaza.ENOTFOUND, "There is no opportunity %q of this customer.", id)
			}
		} else {
			open := plaza.WinLossOpen
			os, _, err := t.r.Opportunities.FindOpportunities(ctx, plaza.OpportunityFilter{ContactID: contact, WinLossStatus: &open, Page: plaza.Page{Limit: 1}})
			if err != nil {
				return nil, err
			}
			if len(os) == 0 {
				return nil, plaza.Errorf(plaza.ENOTFOUND, "This customer has no open opportunity.")
			}
			id = os[0].ID
		}
		o, err := t.r.Opportunities.UpdateOpportunity(ctx, id, plaza.OpportunityUpdate{StageID: &st.ID})
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "opportunityId": o.ID, "stage": st.Name}, nil

	case plaza.ToolCreateTask:
		in := plaza.TaskCreate{WorkspaceID: t.in.WorkspaceID, Name: str(args, "name"), Description: str(args, "description"), ContactID: &contact}
		if in.Description == "" {
			in.Description = in.Name
		}
		if s := str(args, "dueDate"); s != "" {
			due, err := parseLocalTime(s, t.loc())
			if err != nil {
				return nil, err
			}
			in.ExpirationDate = &due
		}
		task, err := t.r.Tasks.CreateTask(ctx, in)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "taskId": task.ID}, nil

	case plaza.ToolAddActivity:
		a, err := t.r.Contacts.AddContactActivity(ctx, contact, str(args, "content"), str(args, "categoryType"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"ok": true, "activityId": a.ID}, nil
	}
	return nil, plaza.Errorf(plaza.EINVALID, "Unknown tool %q.", name)
}

// number reads args[key] as a number (0 when absent); the LLM may write
// it as a string.
func number(args map[string]any, key string) (float64, error) {
	switch v := args[key].(type) {
	case nil:
		return 0, nil
	case json.Number:
		return v.Float64()
	case string:
		if strings.TrimSpace(v) == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, plaza.Errorf(plaza.EINVALID, "%s must be a number.", key)
		}
		return f, nil
	}
	return 0, plaza.Errorf(plaza.EINVALID, "%s must be a number.", key)
}
