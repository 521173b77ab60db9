package api

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

// The OpenAPI document is kept in pieces, one per resource, so each
// resource's paths and schemas sit in one file: openapi/openapi.json holds
// the info, the tags and the shared components; every other
// openapi/*.json holds "tags", "paths" and "components" that are merged
// into it. A path or component defined twice is an error.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

var openAPIDocument = mustBuildOpenAPI()

// OpenAPIDocument returns the OpenAPI 3.1 document of the API.
func OpenAPIDocument() []byte { return openAPIDocument }

func mustBuildOpenAPI() []byte {
	b, err := buildOpenAPI(openAPIFiles)
	if err != nil {
		panic(err)
	}
	return b
}

func buildOpenAPI(files fs.FS) ([]byte, error) {
	var doc map[string]any
	if err := readJSON(files, "openapi/openapi.json", &doc); err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "openapi/openapi.json" {
			continue
		}
		var frag struct {
			Tags       []any                     `json:"tags"`
			Paths      map[string]any            `json:"paths"`
			Components map[string]map[string]any `json:"components"`
		}
		if err := readJSON(files, name, &frag); err != nil {
			return nil, err
		}
		doc["tags"] = append(doc["tags"].([]any), frag.Tags...)
		if err := mergePaths(doc["paths"].(map[string]any), frag.Paths, name); err != nil {
			return nil, err
		}
		components := doc["components"].(map[string]any)
		for kind, defs := range frag.Components {
			if components[kind] == nil {
				components[kind] = map[string]any{}
			}
			if err := mergeInto(components[kind].(map[string]any), defs, name, kind); err != nil {
				return nil, err
			}
		}
	}
	addIdempotency(doc)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func readJSON(files fs.FS, name string, v any) error {
	b, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func mergeInto(dst, src map[string]any, file, what string) error {
	for k, v := range src {
		if _, dup := dst[k]; dup {
			return fmt.Errorf("%s: %s %q is defined twice", file, what, k)
		}
		dst[k] = v
	}
	return nil
}

// mergePaths adds the path items of src to dst. Two fragments may share a
// path (GET /api/message/conversation lists, POST sends) but not an
// operation or a path-level key.
func mergePaths(dst, src map[string]any, file string) error {
	for path, item := range src {
		cur, ok := dst[path].(map[string]any)
		if !ok {
			dst[path] = item
			continue
		}
		add, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: path %q is not an object", file, path)
		}
		if err := mergeInto(cur, add, file, "operation of path "+path+":"); err != nil {
			return err
		}
	}
	return nil
}

// addIdempotency documents the Idempotency-Key middleware on every POST
// that needs credentials, the way the middleware applies it: the header,
// the 422 of a reused key, the 409 of a key still running, and the
// Idempotent-Replayed header on every response.
func addIdempotency(doc map[string]any) {
	for _, item := range doc["paths"].(map[string]any) {
		op, ok := item.(map[string]any)["post"].(map[string]any)
		if !ok {
			continue
		}
		if sec, ok := op["security"].([]any); !ok || len(sec) == 0 {
			continue
		}
		params, _ := op["parameters"].([]any)
		op["parameters"] = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
		responses := op["responses"].(map[string]any)
		if _, ok := responses["422"]; !ok { // an operation's own 422 must allow UNPROCESSABLE
			responses["422"] = map[string]any{"$ref": "#/components/responses/Unprocessable"}
		}
		if _, ok := responses["409"]; !ok {
			responses["409"] = map[string]any{"$ref": "#/components/responses/Conflict"}
		}
		for _, resp := range responses {
			resp := resp.(map[string]any)
			if _, isRef := resp["$ref"]; isRef {
				continue
			}
			headers, _ := resp["headers"].(map[string]any)
			if headers == nil {
				headers = map[string]any{}
				resp["headers"] = headers
			}
			headers["Idempotent-Replayed"] = map[string]any{"$ref": "#/components/headers/IdempotentReplayed"}
		}
	}
}
