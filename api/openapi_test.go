package api_test

// Every response the suite produces is checked against the OpenAPI document
// the server serves (api/openapi.json), so the document cannot drift from
// the handlers.
//
// Two libraries, each for what it does best:
//
//   - github.com/getkin/kin-openapi loads the document and validates it as
//     OpenAPI 3.1 (structure, references, each schema by its version's
//     rules), gives typed access to operations and responses, and checks a
//     response's headers (openapi3filter).
//   - github.com/santhosh-tekuri/jsonschema/v6, a JSON Schema 2020-12
//     validator, checks response bodies. An OpenAPI 3.1 schema is a 2020-12
//     schema, so each body schema is compiled straight from its JSON pointer
//     in the document as written, its $refs into components resolved there.
//     kin-openapi validates 3.1 bodies with this same library, but on its
//     typed model re-serialised, and it falls back to its OpenAPI 3.0
//     validator for a schema that uses $ref without a 2020-only keyword, or
//     that does not compile: a drift check must not weaken silently.
//
// Requests are not validated: tests send invalid ones on purpose, and keys
// and query names bind case-insensitively, which a schema cannot express.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/plaza-crm/plaza/api"
)

// openAPISpec is the parsed document, ready to check responses.
type openAPISpec struct {
	doc *openapi3.T
	// ops has a pattern "METHOD /path" per operation and paths one "/path"
	// per path, so requests are matched by the same rules as the server's
	// own mux (HEAD answered by GET, {param} segments).
	ops, paths *http.ServeMux

	mu       sync.Mutex // guards compiler and schemas
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema // by JSON pointer
}

// specURL names the document as a JSON Schema resource.
const specURL = "https://plaza.invalid/openapi.json"

var (
	specOnce sync.Once
	spec     *openAPISpec
	specErr  error
)

// loadSpec parses api.OpenAPIDocument once.
func loadSpec(t *testing.T) *openAPISpec {
	t.Helper()
	specOnce.Do(func() { spec, specErr = parseSpec(api.OpenAPIDocument()) })
	if specErr != nil {
		t.Fatalf("openapi.json: %v", specErr)
	}
	return spec
}

func parseSpec(data []byte) (*openAPISpec, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(specURL, raw); err != nil {
		return nil, err
	}
	s := &openAPISpec{doc: doc, ops: http.NewServeMux(), paths: http.NewServeMux(), compiler: c,
		schemas: map[string]*jsonschema.Schema{}}
	for path, item := range doc.Paths.Map() {
		if err := handle(s.paths, path); err != nil {
			return nil, err
		}
		for method := range item.Operations() {
			if err := handle(s.ops, method+" "+path); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// handle registers pattern on mux, turning the mux's panic on a bad
// pattern into an error.
func handle(mux *http.ServeMux, pattern string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("path %q is not a valid Go route pattern: %v", pattern, p)
		}
	}()
	mux.Handle(pattern, http.NotFoundHandler())
	return nil
}

// expectation is what the document says one response must be.
type expectation struct {
	route    *routers.Route
	where    string // JSON pointer of the Response Object
	response *openapi3.Response
	skipBody bool
}

// expect finds the Response Object the document gives for status on r.
// A request that matches no operation gets the server's own answers,
// components/responses NotFound (no such path) or MethodNotAllowed (a
// path served with other methods); any other status fails.
func (s *openAPISpec) expect(r *http.Request, status string) (*expectation, error) {
	if _, pattern := s.ops.Handler(r); pattern != "" {
		method, path, _ := strings.Cut(pattern, " ")
		item := s.doc.Paths.Value(path)
		op := item.GetOperation(method)
		ref := op.Responses.Value(status)
		if ref == nil {
			return nil, fmt.Errorf("status %s is not documented for %s (documented: %s)",
				status, pattern, strings.Join(op.Responses.Keys(), ", "))
		}
		where := ref.Ref
		if where == "" {
			where = "#/paths/" + pointerEscape(path) + "/" + strings.ToLower(method) + "/responses/" + status
		}
		return &expectation{
			route:    &routers.Route{Spec: s.doc, Path: path, PathItem: item, Method: method, Operation: op},
			where:    where,
			response: ref.Value,
			skipBody: path == "/openapi.json" || path == "/metrics",
		}, nil
	}
	name, want := "NotFound", "404"
	if _, pattern := s.paths.Handler(r); pattern != "" {
		name, want = "MethodNotAllowed", "405"
	}
	if status != want {
		return nil, fmt.Errorf("%s %s is not an operation of the document: want status %s (components/responses/%s), got %s",
			r.Method, r.URL.Path, want, name, status)
	}
	ref := s.doc.Components.Responses[name]
	if ref == nil {
		return nil, fmt.Errorf("components/responses/%s is missing", name)
	}
	code, _ := strconv.Atoi(status)
	op := &openapi3.Operation{Responses: openapi3.NewResponses(openapi3.WithStatus(code, ref))}
	return &expectation{
		route:    &routers.Route{Spec: s.doc, Path: r.URL.Path, PathItem: &openapi3.PathItem{}, Method: r.Method, Operation: op},
		where:    "#/components/responses/" + name,
		response: ref.Value,
	}, nil
}

// schema returns the compiled schema at the JSON pointer where.
func (s *openAPISpec) schema(where string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[where]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(specURL + where)
	if err != nil {
		return nil, err
	}
	s.schemas[where] = sch
	return sch, nil
}

// check validates one response: its status is documented for the
// operation, its headers and Content-Type are the documented ones, and its
// body matches the schema of that status and media type.
func (s *openAPISpec) check(r *http.Request, resp *http.Response, body []byte) error {
	e, err := s.expect(r, strconv.Itoa(resp.StatusCode))
	if err != nil {
		return err
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: e.route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: true, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("headers: %w", err)
	}
	ct := resp.Header.Get("Content-Type")
	mediaType, _, err := mime.ParseMediaType(ct)
	if err == nil && e.response.Content[mediaType] == nil {
		// A range documents files served with their own type (media).
		if major, _, _ := strings.Cut(mediaType, "/"); e.response.Content[major+"/*"] != nil {
			mediaType = major + "/*"
		} else if e.response.Content["*/*"] != nil {
			mediaType = "*/*"
		}
	}
	if err != nil || e.response.Content[mediaType] == nil {
		return fmt.Errorf("Content-Type %q is not documented at %s (documented: %s)", ct, e.where,
			strings.Join(slices.Sorted(maps.Keys(e.response.Content)), ", "))
	}
	if e.skipBody || r.Method == http.MethodHead || strings.HasSuffix(mediaType, "/*") {
		return nil // bytes, not JSON
	}
	if mediaType == "text/event-stream" {
		return s.checkEventStream(body)
	}
	if !strings.Contains(mediaType, "json") {
		return nil // not JSON (a script): its media type is what can be checked
	}
	sch, err := s.schema(e.where + "/content/" + pointerEscape(mediaType) + "/schema")
	if err != nil {
		return fmt.Errorf("compile the schema: %w", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if err := sch.Validate(v); err != nil {
		return err
	}
	return nil
}

// checkEventStream validates the events of a text/event-stream body (as
// much of it as the test read): each data line is an EventStreamItem whose
// id and type are the event's id and event lines.
func (s *openAPISpec) checkEventStream(body []byte) error {
	sch, err := s.schema("#/components/schemas/EventStreamItem")
	if err != nil {
		return fmt.Errorf("compile the schema: %w", err)
	}
	for _, frame := range strings.Split(string(body), "\n\n") {
		fields := map[string]string{}
		for _, line := range strings.Split(frame, "\n") {
			if line == "" || strings.HasPrefix(line, ":") {
				continue
			}
			k, v, _ := strings.Cut(line, ": ")
			fields[k] = v
		}
		if fields["data"] == "" {
			continue
		}
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(fields["data"]))
		if err != nil {
			return fmt.Errorf("event data is not JSON: %w", err)
		}
		if err := sch.Validate(v); err != nil {
			return fmt.Errorf("event %s: %w", fields["id"], err)
		}
		var e struct {
			ID   int64
			Type string
		}
		json.Unmarshal([]byte(fields["data"]), &e)
		if strconv.FormatInt(e.ID, 10) != fields["id"] || e.Type != fields["event"] {
			return fmt.Errorf("event lines id %q event %q, data id %d type %q", fields["id"], fields["event"], e.ID, e.Type)
		}
	}
	return nil
}

// pointerEscape escapes a JSON pointer token (RFC 6901).
func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// checkOpenAPI validates one request/response pair against the served
// OpenAPI document; ts.do calls it for every request a test makes.
func checkOpenAPI(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	t.Helper()
	s := loadSpec(t)
	if resp.Request != nil {
		req = resp.Request // the request the response answers, after redirects
	}
	if err := s.check(req, resp, body); err != nil {
		const max = 2000
		shown := string(body)
		if len(shown) > max {
			shown = shown[:max] + "..."
		}
		t.Errorf("OpenAPI: %s %s -> %d does not match openapi.json: %v\nbody: %s",
			req.Method, req.URL.RequestURI(), resp.StatusCode, err, shown)
	}
}

// TestOpenAPI_CoversRoutes keeps the document's operations equal to the
// routes the server serves.
func TestOpenAPI_CoversRoutes(t *testing.T) {
	s := loadSpec(t)
	served := map[string]bool{}
	for _, p := range api.NewServer(testSecret).Patterns() {
		served[p] = true
	}
	documented := map[string]bool{}
	for path, item := range s.doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, p := range slices.Sorted(maps.Keys(served)) {
		if !documented[p] {
			t.Errorf("route %q is served but not documented in openapi.json", p)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(documented)) {
		if !served[p] {
			t.Errorf("openapi.json documents %q, which the server does not serve", p)
		}
	}
}

// TestOpenAPI_Valid checks the document is valid OpenAPI 3.1 and that every
// response schema in it compiles as JSON Schema 2020-12, so a broken schema
// shows here rather than at its first use.
func TestOpenAPI_Valid(t *testing.T) {
	s := loadSpec(t)
	if err := s.doc.Validate(context.Background()); err != nil {
		t.Errorf("openapi.json is not valid OpenAPI 3.1: %v", err)
	}
	check := func(where string, r *openapi3.Response) {
		for _, mt := range slices.Sorted(maps.Keys(r.Content)) {
			if _, err := s.schema(where + "/content/" + pointerEscape(mt) + "/schema"); err != nil {
				t.Errorf("%s: %v", where, err)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.doc.Components.Responses)) {
		check("#/components/responses/"+name, s.doc.Components.Responses[name].Value)
	}
	paths := s.doc.Paths.Map()
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		ops := paths[path].Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			op := ops[method]
			if op.Summary == "" || op.Description == "" {
				t.Errorf("%s %s: an operation needs a summary and a description", method, path)
			}
			for status, ref := range op.Responses.Map() {
				if ref.Ref == "" {
					check("#/paths/"+pointerEscape(path)+"/"+strings.ToLower(method)+"/responses/"+status, ref.Value)
				}
			}
		}
	}
}

// TestOpenAPI_Served checks GET /openapi.json serves the embedded document,
// as JSON, declaring OpenAPI 3.1.0.
func TestOpenAPI_Served(t *testing.T) {
	eachServer(t, func(t *testing.T, ts *testServer) {
		r := ts.do(req{Method: "GET", Path: "/openapi.json"})
		if r.Status != http.StatusOK {
			t.Fatalf("status %d, want 200", r.Status)
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			t.Errorf("Content-Type %q, want application/json", r.Header.Get("Content-Type"))
		}
		if !bytes.Equal(r.Body, api.OpenAPIDocument()) {
			t.Error("the served document differs from api.OpenAPIDocument()")
		}
		var doc struct {
			OpenAPI string `json:"openapi"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("the document is not JSON: %v", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			t.Errorf("the document has data after its JSON value")
		}
		if doc.OpenAPI != "3.1.0" {
			t.Errorf("openapi %q, want 3.1.0", doc.OpenAPI)
		}
	})
}
