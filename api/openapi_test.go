package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// fiberParam matches a fiber path parameter (":id").
var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIMatchesRoutes fails when a route the app serves has no entry
// in openapi.json, or the document describes a route that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts := newTestServer(t)
	served := map[string]bool{}
	for _, r := range ts.srv.app.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // fiber adds HEAD to every GET
		}
		served[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := ts.do("GET", "/api/openapi.json", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("openapi.json: %d", r.Status)
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				described[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	for route := range served {
		if !described[route] {
			t.Errorf("served but not in openapi.json: %s", route)
		}
	}
	for route := range described {
		if !served[route] {
			t.Errorf("in openapi.json but not served: %s", route)
		}
	}
	if len(served) < 25 {
		t.Errorf("only %d routes served; is the route table registered?", len(served))
	}
}

// TestOpenAPIDocumentIsSound checks what a client generator relies on:
// every $ref resolves, every operation has an id, responses and a security
// choice, and every error code errors.go can produce is listed.
func TestOpenAPIDocumentIsSound(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	for _, ref := range refs {
		node := any(doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, ok := node.(map[string]any)
			if !ok {
				node = nil
				break
			}
			node = m[part]
		}
		if node == nil {
			t.Errorf("$ref %s does not resolve", ref)
		}
	}

	ids := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			if _, ok := op["responses"].(map[string]any); !ok {
				t.Errorf("%s %s: no responses", method, path)
			}
			if _, ok := op["security"]; !ok {
				t.Errorf("%s %s: no security", method, path)
			}
		}
	}

	schemes := doc["components"].(map[string]any)["securitySchemes"].(map[string]any)
	for _, name := range []string{"ApiKeyHeader", "Bearer", "SessionCookie"} {
		if schemes[name] == nil {
			t.Errorf("security scheme %s missing", name)
		}
	}

	codes := doc["components"].(map[string]any)["schemas"].(map[string]any)["ErrorEnvelope"].(map[string]any)["properties"].(map[string]any)["error"].(map[string]any)["properties"].(map[string]any)["code"].(map[string]any)["enum"].([]any)
	listed := map[string]bool{}
	for _, c := range codes {
		listed[c.(string)] = true
	}
	for _, code := range producedErrorCodes() {
		if !listed[code] {
			t.Errorf("error code %s is produced but not in openapi.json", code)
		}
	}
}

// producedErrorCodes lists the codes errors.go can write.
func producedErrorCodes() []string {
	codes := []string{
		errMissingCredentials.code, errInvalidKeyFormat.code, errInvalidKey.code, errInvalidSession.code,
		errConflictingCredentials.code, errCSRF.code, errDeviceKeyForbidden.code, errNotAKey.code,
		errDeviceKeyDelete.code, errKeyNotFound.code, errSignupClosed.code, errEmailTaken.code,
		errInvalidCredentials.code, errEngineNotAllowed.code, errUnknownEngine.code, errMediaByURL.code,
		errInvalidJSON.code, errNotFound.code, errMethodNotAllowed.code, errPayloadTooLarge.code,
		errNotReady.code, errInternal.code, "validation_failed", "rate_limited", "too_many_attempts", "bad_request",
		"headers_too_large", "request_timeout", errUpgradeRequired.code, errTestKeyWebhooks.code,
		errFileNotFound.code, errMediaTooLarge.code, errMediaKindMismatch.code, errVoiceFormat.code, errInvalidURL.code,
		errURLNotAllowed.code, errMediaFetchFailed.code, errNotEditable.code, errNotRevocable.code, errNotReactable.code,
		errPluginNotFound.code, errPluginLimit.code,
		errIdempotencyMismatch.code, errIdempotencyInProgress.code,
	}
	for _, m := range errorsByCause {
		codes = append(codes, m.wire.code)
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}
