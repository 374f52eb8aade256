package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/web"
)

// llmsTxt is the short guide for language models and people (the seed's
// llms.txt, kept true to this server).
//
//go:embed llms.txt
var llmsTxt []byte

func (s *Server) llmsTxt(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(llmsTxt)
}

// llmsFullTxt is llms.txt followed by a reference of every route, generated
// from the OpenAPI document so that it cannot drift from what is served.
func (s *Server) llmsFullTxt(c *fiber.Ctx) error {
	body, err := s.llmsFull()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(body)
}

// apiExplorer serves Swagger UI: its page at /api/docs, its assets below it.
func (s *Server) apiExplorer(c *fiber.Ctx) error {
	name := c.Params("file")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(web.APIExplorer(), path.Clean(name))
	if err != nil {
		return errNotFound
	}
	switch path.Ext(name) {
	case ".html":
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	case ".js":
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	case ".css":
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
	default:
		c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=3600")
	return c.Send(b)
}

// openAPIDoc is the part of an OpenAPI document the reference is made of.
type openAPIDoc struct {
	Info struct {
		Description string `json:"description"`
	} `json:"info"`
	Tags []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tags"`
	Paths      map[string]map[string]openAPIOperation `json:"paths"`
	Components struct {
		Schemas map[string]openAPISchema `json:"schemas"`
	} `json:"components"`
}

type openAPIOperation struct {
	Tags        []string `json:"tags"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	Security    []any    `json:"security"`
	Parameters  []struct {
		Name        string `json:"name"`
		In          string `json:"in"`
		Required    bool   `json:"required"`
		Description string `json:"description"`
	} `json:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema openAPISchema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Responses map[string]struct {
		Description string `json:"description"`
	} `json:"responses"`
}

type openAPISchema struct {
	Ref         string                   `json:"$ref"`
	Type        any                      `json:"type"`
	Required    []string                 `json:"required"`
	Properties  map[string]openAPISchema `json:"properties"`
	Description string                   `json:"description"`
	Enum        []any                    `json:"enum"`
}

// renderReference writes the route reference of an OpenAPI document as
// plain text: per tag, each operation with its parameters, body fields and
// answers.
func renderReference(spec []byte) ([]byte, error) {
	var doc openAPIDoc
	if err := json.Unmarshal(spec, &doc); err != nil {
		return nil, fmt.Errorf("api: reference: %w", err)
	}
	type op struct {
		method, path string
		o            openAPIOperation
	}
	byTag := map[string][]op{}
	for p, methods := range doc.Paths {
		for m, o := range methods {
			if m == "parameters" {
				continue
			}
			tag := "Other"
			if len(o.Tags) > 0 {
				tag = o.Tags[0]
			}
			byTag[tag] = append(byTag[tag], op{strings.ToUpper(m), p, o})
		}
	}
	var tags []string
	for _, t := range doc.Tags {
		tags = append(tags, t.Name)
	}
	for t := range byTag {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	var b bytes.Buffer
	b.WriteString("\n# Full reference\n\n")
	b.WriteString(doc.Info.Description)
	b.WriteString("\n")
	for _, tag := range tags {
		ops := byTag[tag]
		if len(ops) == 0 {
			continue
		}
		sort.Slice(ops, func(i, j int) bool {
			if ops[i].path != ops[j].path {
				return ops[i].path < ops[j].path
			}
			return ops[i].method < ops[j].method
		})
		fmt.Fprintf(&b, "\n## %s\n", tag)
		for _, t := range doc.Tags {
			if t.Name == tag && t.Description != "" {
				fmt.Fprintf(&b, "\n%s\n", t.Description)
			}
		}
		for _, o := range ops {
			fmt.Fprintf(&b, "\n### %s %s\n\n%s\n", o.method, o.path, o.o.Summary)
			if o.o.Description != "" {
				fmt.Fprintf(&b, "\n%s\n", o.o.Description)
			}
			if o.o.Security != nil && len(o.o.Security) == 0 {
				b.WriteString("\nNo authentication.\n")
			}
			for _, p := range o.o.Parameters {
				req := ""
				if p.Required {
					req = ", required"
				}
				fmt.Fprintf(&b, "- %s parameter `%s`%s: %s\n", p.In, p.Name, req, p.Description)
			}
			if o.o.RequestBody != nil {
				for ct, media := range o.o.RequestBody.Content {
					s := resolveSchema(doc, media.Schema)
					fmt.Fprintf(&b, "\nBody (%s):\n", ct)
					names := make([]string, 0, len(s.Properties))
					for n := range s.Properties {
						names = append(names, n)
					}
					sort.Strings(names)
					for _, n := range names {
						f := resolveSchema(doc, s.Properties[n])
						req := ""
						if slices.Contains(s.Required, n) {
							req = ", required"
						}
						fmt.Fprintf(&b, "- `%s` (%v%s) %s\n", n, typeName(f), req, f.Description)
					}
				}
			}
			codes := make([]string, 0, len(o.o.Responses))
			for code := range o.o.Responses {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			b.WriteString("\nAnswers:\n")
			for _, code := range codes {
				fmt.Fprintf(&b, "- %s: %s\n", code, o.o.Responses[code].Description)
			}
		}
	}
	return b.Bytes(), nil
}

func resolveSchema(doc openAPIDoc, s openAPISchema) openAPISchema {
	for i := 0; i < 8 && s.Ref != ""; i++ {
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		next, ok := doc.Components.Schemas[name]
		if !ok {
			break
		}
		if next.Description == "" {
			next.Description = s.Description
		}
		s = next
	}
	return s
}

func typeName(s openAPISchema) string {
	switch t := s.Type.(type) {
	case string:
		if len(s.Enum) > 0 {
			var vs []string
			for _, e := range s.Enum {
				vs = append(vs, fmt.Sprint(e))
			}
			return t + ": " + strings.Join(vs, "|")
		}
		return t
	case []any:
		var vs []string
		for _, e := range t {
			vs = append(vs, fmt.Sprint(e))
		}
		return strings.Join(vs, "|")
	}
	return "object"
}
