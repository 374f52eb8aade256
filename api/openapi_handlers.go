package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"
)

// openAPISpec is the hand-written OpenAPI 3.1 description of every route in
// routes.go; a test keeps the two in step.
//
//go:embed openapi.json
var openAPISpec []byte

// buildOpenAPI returns the served document: the embedded one with this
// build's version and, when known, the public URL as its server.
func buildOpenAPI(version, publicURL string) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		return nil, fmt.Errorf("api: openapi.json: %w", err)
	}
	if info, ok := doc["info"].(map[string]any); ok && version != "" {
		info["version"] = version
	}
	if publicURL != "" {
		doc["servers"] = []any{map[string]any{"url": publicURL}}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("api: openapi.json: %w", err)
	}
	return out, nil
}

// openAPIDocument serves the OpenAPI document, unauthenticated and not
// enveloped: tools read it as it is.
func (s *Server) openAPIDocument(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(s.openapi)
}
