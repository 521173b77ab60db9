package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/plaza-crm/plaza"
)

// jsonObject is a request body's JSON object, read key by key so that each
// field's type is checked on its own and every wrong one is named in one
// 400. Keys match case-insensitively; a key given twice (in any case)
// keeps its last value, as encoding/json does.
type jsonObject struct {
	vals map[string]json.RawMessage // by lower-case key
	errs plaza.Validator
}

// readJSONObject reads the body, which must be one JSON object.
func readJSONObject(r *http.Request) (*jsonObject, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is required (a JSON object)."})
	}
	notObject := plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must be a JSON object."})
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, notObject
	}
	o := &jsonObject{vals: map[string]json.RawMessage{}}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, jsonError(err)
		}
		o.vals[strings.ToLower(key)] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body must hold one JSON object and nothing after it."})
	}
	return o, nil
}

// has reports whether the body has the key, whatever its value.
func (o *jsonObject) has(name string) bool {
	_, ok := o.vals[strings.ToLower(name)]
	return ok
}

func (o *jsonObject) raw(name string) (json.RawMessage, bool) {
	v, ok := o.vals[strings.ToLower(name)]
	if ok && string(v) == "null" {
		return nil, true
	}
	return v, ok
}

// str returns a string field: nil when absent or null. A value of another
// type is recorded as an error naming the field.
func (o *jsonObject) str(name string) *string {
	v, _ := o.raw(name)
	if v == nil {
		return nil
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		o.errs.Check(false, name, name+" must be a string.")
		return nil
	}
	return &s
}

// time returns a date field: nil when absent or null. Dates are ISO 8601,
// date-only accepted.
func (o *jsonObject) time(name string) *plaza.Time {
	s := o.str(name)
	if s == nil {
		return nil
	}
	t, err := plaza.ParseTime(*s)
	if err != nil {
		o.errs.Check(false, name, name+" "+plaza.ErrorMessage(err))
		return nil
	}
	return &t
}

// strs returns an array-of-strings field: nil when absent or null.
func (o *jsonObject) strs(name string) []string {
	v, _ := o.raw(name)
	if v == nil {
		return nil
	}
	var ss []string
	if json.Unmarshal(v, &ss) != nil {
		o.errs.Check(false, name, name+" must be an array of strings.")
		return nil
	}
	return ss
}

// err returns the type errors recorded so far.
func (o *jsonObject) err() error { return o.errs.Err() }

// updateFields works out which fields an update body changes, under
// Plazbot's three forms: {"<field>": value}; {"paramToUpdate": "<field>",
// "<field>": value}, which changes that field only; and several fields at
// once. groups lists the recognised fields, aliases of one field grouped
// (canonical name first). It returns the canonical names of the groups to
// apply; a paramToUpdate naming no recognised field, or whose field is
// missing from the body, is EINVALID.
func (o *jsonObject) updateFields(groups [][]string) (map[string]bool, error) {
	apply := map[string]bool{}
	if o.has("paramToUpdate") {
		param := o.str("paramToUpdate")
		if err := o.err(); err != nil {
			return nil, err
		}
		var names []string
		for _, g := range groups {
			names = append(names, g[0])
			for _, alias := range g {
				if param != nil && strings.EqualFold(*param, alias) {
					present := false
					for _, a := range g {
						present = present || o.has(a)
					}
					if !present {
						return nil, plaza.Invalid(plaza.FieldError{Field: alias,
							Message: "paramToUpdate is " + alias + " but the body has no " + alias + "."})
					}
					apply[g[0]] = true
					return apply, nil
				}
			}
		}
		return nil, plaza.Invalid(plaza.FieldError{Field: "paramToUpdate",
			Message: "paramToUpdate must name one of: " + strings.Join(names, ", ") + "."})
	}
	for _, g := range groups {
		for _, alias := range g {
			if o.has(alias) {
				apply[g[0]] = true
			}
		}
	}
	return apply, nil
}
