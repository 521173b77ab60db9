package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/plaza-crm/plaza"
	"github.com/plaza-crm/plaza/whatsapp"
)

// Templates implements plaza.TemplateService: it reads and submits the
// templates of the workspace's WABAs through the Graph API and keeps
// their copies in the store.
type Templates struct {
	Store   plaza.TemplateStore
	Numbers plaza.WhatsAppNumberService
	Graph   *whatsapp.Client
}

var _ plaza.TemplateService = (*Templates)(nil)

// numbers returns the caller's number numberID, or all of them, with
// their credentials.
func (t *Templates) numbers(ctx context.Context, numberID string) ([]plaza.WhatsAppCredentials, error) {
	all, err := t.Numbers.FindWhatsAppNumbers(ctx)
	if err != nil {
		return nil, err
	}
	var out []plaza.WhatsAppCredentials
	for _, n := range all {
		if numberID != "" && n.ID != numberID {
			continue
		}
		c, err := t.Numbers.WhatsAppCredentialsByPhoneNumberID(ctx, n.PhoneNumberID)
		if err != nil {
			return nil, err
		}
		if c.WorkspaceID != n.WorkspaceID {
			continue
		}
		out = append(out, *c)
	}
	switch {
	case numberID != "" && len(out) == 0:
		return nil, plaza.Invalid(plaza.FieldError{Field: "numberId",
			Message: fmt.Sprintf("numberId %s is not a WhatsApp number connected to this workspace.", numberID)})
	case len(out) == 0:
		return nil, plaza.Invalid(plaza.FieldError{Field: "numberId",
			Message: "No WhatsApp number is connected to this workspace; connect one with POST /api/workspace/{workspaceId}/whatsapp/numbers."})
	}
	return out, nil
}

// graphError turns a failed Graph call into Plaza's error: 422 with Meta's
// words when Meta refused, 503 when it failed on its side or could not be
// reached.
func graphError(what string, err error) error {
	var apiErr *whatsapp.APIError
	var invalid *whatsapp.ValidationError
	switch {
	case errors.As(err, &apiErr) && apiErr.HTTPStatus < 500 && !apiErr.Retryable():
		msg := fmt.Sprintf("WhatsApp refused to %s: %s (code %d).", what, errorTitle(apiErr), apiErr.Code)
		if apiErr.Details != "" {
			msg = fmt.Sprintf("WhatsApp refused to %s: %s (code %d): %s", what, errorTitle(apiErr), apiErr.Code, apiErr.Details)
		}
		return plaza.Errorf(plaza.EUNPROCESSABLE, "%s", msg)
	case errors.As(err, &invalid):
		return plaza.Errorf(plaza.EINVALID, "%s", invalid.Error())
	}
	// Meta failed on its side or could not be reached: the request may
	// be repeated.
	return &wrapped{code: plaza.EUNAVAILABLE, msg: fmt.Sprintf("Could not %s: WhatsApp did not answer; try again later.", what), err: err}
}

// SyncTemplates reads every template of the numbers' WABAs.
func (t *Templates) SyncTemplates(ctx context.Context, in plaza.TemplateSync) (*plaza.TemplateSynced, error) {
	if _, err := plaza.RequireWorkspace(ctx); err != nil {
		return nil, err
	}
	numbers, err := t.numbers(ctx, strings.TrimSpace(in.NumberID))
	if err != nil {
		return nil, err
	}
	for _, n := range numbers {
		infos, err := t.Graph.ListTemplates(ctx, n.WabaID, n.AccessToken)
		if err != nil {
			return nil, graphError("list the templates of WABA "+n.WabaID, err)
		}
		records := make([]plaza.TemplateRecord, 0, len(infos))
		for _, info := range infos {
			components, err := json.Marshal(info.Components)
			if err != nil {
				return nil, err
			}
			if len(info.Raw) > 0 {
				var raw struct {
					Components json.RawMessage `json:"components"`
				}
				if json.Unmarshal(info.Raw, &raw) == nil && len(raw.Components) > 0 {
					components = raw.Components // as Meta wrote them
				}
			}
			records = append(records, plaza.TemplateRecord{MetaID: info.ID, Name: info.Name, Language: info.Language,
				Category: info.Category, Status: info.Status, Reason: info.RejectedReason, Components: components})
		}
		if err := t.Store.StoreTemplates(ctx, n.ID, records); err != nil {
			return nil, err
		}
	}
	all, err := t.Store.FindTemplates(ctx, "")
	if err != nil {
		return nil, err
	}
	return &plaza.TemplateSynced{Numbers: len(numbers), Templates: all}, nil
}

// ActiveTemplates lists the approved templates.
func (t *Templates) ActiveTemplates(ctx context.Context) ([]plaza.Template, error) {
	return t.Store.FindTemplates(ctx, plaza.TemplateApproved)
}

// CreateTemplate submits the template to Meta and stores it.
func (t *Templates) CreateTemplate(ctx context.Context, in plaza.TemplateCreate) (*plaza.Template, error) {
	if _, err := plaza.RequireWorkspace(ctx); err != nil {
		return nil, err
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	numbers, err := t.numbers(ctx, in.NumberID)
	if err != nil {
		return nil, err
	}
	if in.NumberID == "" && len(numbers) > 1 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "numberId",
			Message: "This workspace has several WhatsApp numbers: numberId says whose WABA receives the template."})
	}
	n := numbers[0]
	def := templateDefinition(in)
	id, status, category, err := t.Graph.CreateTemplate(ctx, n.WabaID, n.AccessToken, def)
	if err != nil {
		return nil, graphError("create the template", err)
	}
	if status == "" {
		status = plaza.TemplatePending
	}
	if category == "" {
		category = def.Category
	}
	components, err := json.Marshal(def.Components)
	if err != nil {
		return nil, err
	}
	rec := plaza.TemplateRecord{MetaID: id, Name: def.Name, Language: def.Language, Category: category, Status: status,
		Components: components}
	if err := t.Store.StoreTemplates(ctx, n.ID, []plaza.TemplateRecord{rec}); err != nil {
		return nil, err
	}
	all, err := t.Store.FindTemplates(ctx, "")
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].MetaID != nil && *all[i].MetaID == id && all[i].NumberID == n.ID {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("template %s: stored, then not found", def.Name)
}

// templateDefinition is Meta's definition of a template Plazbot's client
// describes: variables become the examples Meta's review requires, named
// variables make it a NAMED template.
func templateDefinition(in plaza.TemplateCreate) whatsapp.TemplateDefinition {
	def := whatsapp.TemplateDefinition{Name: in.ElementName, Language: in.LanguageCode, Category: in.Category}
	named := false
	for _, c := range in.Components {
		for _, v := range c.Variables {
			if name := plaza.VariableName(v.Variable); name != "" && !isDigits(name) {
				named = true
			}
		}
	}
	if named {
		def.ParameterFormat = "NAMED"
	}
	for _, c := range in.Components {
		tc := whatsapp.TemplateComponent{Type: c.Type, Text: c.Text}
		if c.Type == "HEADER" {
			tc.Format = c.Format
			if tc.Format == "" {
				tc.Format = "TEXT"
			}
		}
		vars := plaza.SortVariables(c.Variables)
		if len(vars) > 0 {
			ex := &whatsapp.TemplateExample{}
			switch {
			case c.Type == "HEADER" && tc.Format != "TEXT":
				ex.HeaderHandle = []string{vars[0].Example}
			case c.Type == "HEADER" && named:
				for _, v := range vars {
					ex.HeaderTextNamedParams = append(ex.HeaderTextNamedParams,
						whatsapp.NamedParamExample{ParamName: plaza.VariableName(v.Variable), Example: v.Example})
				}
			case c.Type == "HEADER":
				for _, v := range vars {
					ex.HeaderText = append(ex.HeaderText, v.Example)
				}
			case c.Type == "BODY" && named:
				for _, v := range vars {
					ex.BodyTextNamedParams = append(ex.BodyTextNamedParams,
						whatsapp.NamedParamExample{ParamName: plaza.VariableName(v.Variable), Example: v.Example})
				}
			case c.Type == "BODY":
				row := []string{}
				for _, v := range vars {
					row = append(row, v.Example)
				}
				ex.BodyText = [][]string{row}
			}
			tc.Example = ex
		}
		for _, b := range c.Buttons {
			tc.Buttons = append(tc.Buttons, whatsapp.TemplateButton{Type: strings.ToUpper(b.Type), Text: b.Text,
				URL: b.URL, PhoneNumber: b.PhoneNumber})
		}
		def.Components = append(def.Components, tc)
	}
	return def
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
