package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/plaza-crm/plaza"
)

// envelope is Plazbot's response shape: code equals the HTTP status,
// errorCode is null on success.
type envelope struct {
	Success   bool    `json:"success"`
	Code      int     `json:"code"`
	ErrorCode *string `json:"errorCode"`
	Message   string  `json:"message"`
	Data      any     `json:"data"`
}

// writeJSON writes v with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		// Only a bug in Plaza's types gets here.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"success":false,"code":500,"errorCode":"INTERNAL","message":"Internal error.","data":null}`+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// ok writes a successful envelope with status 200.
func ok(w http.ResponseWriter, message string, data any) error {
	writeJSON(w, http.StatusOK, envelope{Success: true, Code: http.StatusOK, Message: message, Data: data})
	return nil
}

// decode reads the JSON object of the request body into v. Keys bind
// case-insensitively (encoding/json's rule) and unknown keys are ignored;
// an empty body, malformed JSON or a wrong type is EINVALID naming the
// reason and, where known, the field.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyReadError(err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is required (a JSON object)."})
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError turns a decoding error into an EINVALID naming what was wrong.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var perr *plaza.Error
	switch {
	case errors.As(err, &syntax):
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: fmt.Sprintf("The request body is not valid JSON: %s (at byte %d).", syntax.Error(), syntax.Offset)})
	case errors.As(err, &typ):
		if typ.Field == "" {
			return plaza.Invalid(plaza.FieldError{Field: "body", Message: fmt.Sprintf("The request body must be a JSON object, not %s.", typ.Value)})
		}
		return plaza.Invalid(plaza.FieldError{Field: typ.Field, Message: fmt.Sprintf("%s must be %s, not %s.", typ.Field, jsonTypeName(typ.Type.String()), typ.Value)})
	case errors.As(err, &perr):
		return perr
	case errors.Is(err, io.ErrUnexpectedEOF):
		return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is not valid JSON: it ends too early."})
	}
	return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body is not valid JSON: " + err.Error() + "."})
}

func jsonTypeName(goType string) string {
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool" || goType == "*bool":
		return "a boolean"
	case strings.Contains(goType, "int"):
		return "an integer"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

func bodyReadError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return plaza.Errorf(plaza.ETOOLARGE, "The request body is larger than %d bytes.", tooLarge.Limit)
	}
	return plaza.Invalid(plaza.FieldError{Field: "body", Message: "The request body could not be read."})
}

// query returns the query parameter name, matched case-insensitively
// (Plazbot's SDK sends WorkspaceId as well as workspaceId).
func query(r *http.Request, name string) string {
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
