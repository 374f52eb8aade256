package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// List paging bounds (API.md §1).
const (
	defaultListLimit = 50
	maxListLimit     = 500
)

// decodeJSON reads the request body into v. Unknown fields are ignored. An
// empty body reads as {} so that missing required fields are reported by
// name rather than as malformed JSON.
func decodeJSON(c *fiber.Ctx, v any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil
	}
	if body[0] != '{' {
		if json.Valid(body) {
			return validationError("", "The request body must be a JSON object")
		}
		return errInvalidJSON
	}
	err := json.Unmarshal(body, v)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return validationError(te.Field, te.Field+" must be "+jsonTypeName(te.Type))
	}
	return errInvalidJSON
}

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	}
	return "of another type"
}

// flexID is an integer id in a request body, given as a number or a numeric
// string. It never fails to decode, so that the handler can name the field
// in its validation error.
type flexID struct {
	Value   int64
	Present bool // the field was in the body and not null
	Valid   bool // Value is a positive integer
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexID) UnmarshalJSON(b []byte) error {
	*f = flexID{}
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	f.Present = true
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return nil
		}
	}
	f.Value, f.Valid = parseID(s)
	return nil
}

// parseID accepts a positive decimal integer.
func parseID(s string) (int64, bool) {
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v <= 0 {
		return 0, false
	}
	return v, true
}

// pathID reads the {id} path parameter as an integer id.
func pathID(c *fiber.Ctx) (int64, bool) {
	return parseID(c.Params("id"))
}

// listLimit reads ?limit=: default 50, at most 500.
func listLimit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return defaultListLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, validationError("limit", "limit must be a positive integer")
	}
	return min(n, maxListLimit), nil
}

// trimmedLen returns s without surrounding spaces and its length in characters.
func trimmedLen(s string) (string, int) {
	s = strings.TrimSpace(s)
	return s, len([]rune(s))
}

// recipientField reads the required recipient in field: a phone number or a JID.
func recipientField(field, raw string) (engine.JID, error) {
	if strings.TrimSpace(raw) == "" {
		return engine.JID{}, validationError(field, field+" is required")
	}
	return engine.ParseRecipient(raw)
}

// textField checks the required message text in field.
func textField(field, text string) error {
	if text == "" {
		return validationError(field, field+" is required")
	}
	if len(text) > maxTextBytes {
		return validationError(field, fmt.Sprintf("%s must be at most %d bytes", field, maxTextBytes))
	}
	return nil
}
