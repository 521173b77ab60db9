package agent

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The small JSONPath subset of Plazbot's responseMapping and
// responseConditions: "$", then ".key", "['key']" and "[n]" steps, e.g.
// "$.data.items[0].name". Nothing else (no wildcards, filters or slices).

type pathStep struct {
	key   string
	index int
	isIdx bool
}

func parsePath(p string) ([]pathStep, error) {
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "$") {
		return nil, fmt.Errorf("path %q does not start with $", p)
	}
	var steps []pathStep
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, fmt.Errorf("path %q has an empty key", p)
			}
			steps = append(steps, pathStep{key: rest[:end]})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("path %q has an unclosed [", p)
			}
			in := strings.TrimSpace(rest[1:end])
			rest = rest[end+1:]
			if len(in) >= 2 && (in[0] == '\'' || in[0] == '"') && in[len(in)-1] == in[0] {
				steps = append(steps, pathStep{key: in[1 : len(in)-1]})
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil {
				return nil, fmt.Errorf("path %q: [%s] is neither an index nor a quoted key", p, in)
			}
			steps = append(steps, pathStep{index: n, isIdx: true})
		default:
			return nil, fmt.Errorf("path %q: unexpected %q", p, rest[0])
		}
	}
	return steps, nil
}

// lookup evaluates path on v (a value decoded by encoding/json with
// UseNumber); ok is false when a step finds nothing.
func lookup(v any, path string) (any, bool, error) {
	steps, err := parsePath(path)
	if err != nil {
		return nil, false, err
	}
	for _, s := range steps {
		switch c := v.(type) {
		case map[string]any:
			if s.isIdx {
				return nil, false, nil
			}
			var ok bool
			if v, ok = c[s.key]; !ok {
				return nil, false, nil
			}
		case []any:
			if !s.isIdx {
				return nil, false, nil
			}
			i := s.index
			if i < 0 {
				i += len(c)
			}
			if i < 0 || i >= len(c) {
				return nil, false, nil
			}
			v = c[i]
		default:
			return nil, false, nil
		}
	}
	return v, true, nil
}

// lookupResponse evaluates a mapping's path on a service's response body.
// Plazbot's examples write "$.response.status" for a field of the body
// itself; when the body has no "response" key, such a path is read as
// "$.status".
func lookupResponse(body any, path string) (any, bool, error) {
	v, ok, err := lookup(body, path)
	if err != nil || ok {
		return v, ok, err
	}
	trimmed := strings.TrimSpace(path)
	if m, isMap := body.(map[string]any); isMap && strings.HasPrefix(trimmed, "$.response") {
		if _, has := m["response"]; !has {
			return lookup(body, "$"+strings.TrimPrefix(trimmed, "$.response"))
		}
	}
	return nil, false, nil
}

// evalCondition evaluates a responseCondition: "<path> <op> <literal>"
// with op one of == != > >= < <=, the literal a quoted string, a number,
// true, false or null; or a bare path, true when it finds a value that is
// not null, false, 0 or "".
func evalCondition(body any, cond string) (bool, error) {
	cond = strings.TrimSpace(cond)
	for _, op := range []string{"==", "!=", ">=", "<=", ">", "<"} {
		i := indexOp(cond, op)
		if i < 0 {
			continue
		}
		left, right := strings.TrimSpace(cond[:i]), strings.TrimSpace(cond[i+len(op):])
		lit, err := parseLiteral(right)
		if err != nil {
			return false, fmt.Errorf("condition %q: %w", cond, err)
		}
		v, found, err := lookupResponse(body, left)
		if err != nil {
			return false, fmt.Errorf("condition %q: %w", cond, err)
		}
		if !found {
			v = nil
		}
		return compare(v, op, lit), nil
	}
	v, found, err := lookupResponse(body, cond)
	if err != nil {
		return false, fmt.Errorf("condition %q: %w", cond, err)
	}
	return found && truthy(v), nil
}

// indexOp finds op outside quotes; for ">" and "<" it skips ">=" / "<=".
func indexOp(s, op string) int {
	var quote byte
	for i := 0; i+len(op) <= len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' {
			quote = c
			continue
		}
		if s[i:i+len(op)] == op {
			if len(op) == 1 && i+1 < len(s) && s[i+1] == '=' {
				continue
			}
			return i
		}
	}
	return -1
}

func parseLiteral(s string) (any, error) {
	switch {
	case len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0]:
		return s[1 : len(s)-1], nil
	case s == "true":
		return true, nil
	case s == "false":
		return false, nil
	case s == "null":
		return nil, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f, nil
	}
	return nil, fmt.Errorf("%q is not a quoted string, number, true, false or null", s)
}

func compare(v any, op string, lit any) bool {
	if n, ok := v.(json.Number); ok {
		f, err := n.Float64()
		if err == nil {
			v = f
		}
	}
	switch l := lit.(type) {
	case float64:
		f, ok := v.(float64)
		if !ok {
			if s, isStr := v.(string); isStr {
				var err error
				if f, err = strconv.ParseFloat(s, 64); err == nil {
					ok = true
				}
			}
		}
		if !ok {
			return op == "!="
		}
		switch op {
		case "==":
			return f == l
		case "!=":
			return f != l
		case ">":
			return f > l
		case ">=":
			return f >= l
		case "<":
			return f < l
		case "<=":
			return f <= l
		}
	case string:
		s, ok := v.(string)
		if !ok {
			return op == "!="
		}
		switch op {
		case "==":
			return s == l
		case "!=":
			return s != l
		case ">":
			return s > l
		case ">=":
			return s >= l
		case "<":
			return s < l
		case "<=":
			return s <= l
		}
	case bool, nil:
		eq := v == lit
		switch op {
		case "==":
			return eq
		case "!=":
			return !eq
		}
	}
	return false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		f, err := x.Float64()
		return err != nil || f != 0
	case float64:
		return x != 0
	}
	return true
}
