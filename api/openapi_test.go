package api_test

import (
	"net/http"
	"testing"
)

// checkOpenAPI validates one request/response pair against the served
// OpenAPI document; the validator lands in the next commit.
func checkOpenAPI(t *testing.T, req *http.Request, reqBody []byte, resp *http.Response, body []byte) {}
