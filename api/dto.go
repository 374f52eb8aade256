package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/actors/pacing"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Wire types. Handlers never write storage types directly: these say what
// clients see, with RFC 3339 UTC times and null for times that never happened.

// nullTime is a time on the wire: RFC 3339 in UTC, or null when zero.
type nullTime time.Time

// MarshalJSON implements json.Marshaler.
func (t nullTime) MarshalJSON() ([]byte, error) {
	tt := time.Time(t)
	if tt.IsZero() {
		return []byte("null"), nil
	}
	return tt.UTC().MarshalJSON()
}

// nullString is s, or nil (null on the wire) when s is empty.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type workspaceDTO struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func newWorkspaceDTO(w storage.Workspace) workspaceDTO {
	return workspaceDTO{ID: w.ID, Name: w.Name}
}

type userDTO struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func newUserDTO(u storage.User) userDTO {
	return userDTO{ID: u.ID, Name: u.Name, Email: u.Email}
}

type rateLimitDTO struct {
	Limit         int `json:"limit"`
	WindowSeconds int `json:"windowSeconds"`
}

type deviceDTO struct {
	ID                 int64        `json:"id"`
	Name               string       `json:"name"`
	Engine             string       `json:"engine"`
	Status             string       `json:"status"`
	StatusReason       string       `json:"statusReason,omitempty"`
	Phone              *string      `json:"phone"`
	PushName           *string      `json:"pushName"`
	CreatedAt          nullTime     `json:"createdAt"`
	LastSeenAt         nullTime     `json:"lastSeenAt"`
	RateLimit          rateLimitDTO `json:"rateLimit"`
	Pacing             string       `json:"pacing"`
	DeviceAPIKeyPrefix string       `json:"deviceApiKeyPrefix"`
	// PacingSettings are the pacing settings in force: the profile's
	// preset, or the device's own.
	PacingSettings pacing.Settings `json:"pacingSettings"`
}

func newDeviceDTO(d storage.Device) deviceDTO {
	settings := actors.PacingSettings(d)
	return deviceDTO{
		ID:                 d.ID,
		Name:               d.Name,
		Engine:             d.Engine,
		Status:             d.Status,
		StatusReason:       d.StatusReason,
		Phone:              nullString(d.Phone),
		PushName:           nullString(d.PushName),
		CreatedAt:          nullTime(d.CreatedAt),
		LastSeenAt:         nullTime(d.LastSeenAt),
		RateLimit:          rateLimitDTO{Limit: d.RateLimit.Limit, WindowSeconds: d.RateLimit.WindowSeconds},
		Pacing:             string(settings.Profile),
		DeviceAPIKeyPrefix: d.KeyPrefix,
		PacingSettings:     settings,
	}
}

type keyDTO struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // live, test or device
	Mode       string   `json:"mode"` // live or test
	Prefix     string   `json:"prefix"`
	DeviceID   *int64   `json:"deviceId"`
	CreatedAt  nullTime `json:"createdAt"`
	LastUsedAt nullTime `json:"lastUsedAt"`
}

// newKeyDTO describes k; mode is its mode (for device keys, that of its device).
func newKeyDTO(k storage.APIKey, mode string, lastUsed time.Time) keyDTO {
	dto := keyDTO{
		ID:         k.ID,
		Name:       k.Name,
		Kind:       string(k.Kind),
		Mode:       mode,
		Prefix:     k.Prefix,
		CreatedAt:  nullTime(k.CreatedAt),
		LastUsedAt: nullTime(lastUsed),
	}
	if k.DeviceID != 0 {
		id := k.DeviceID
		dto.DeviceID = &id
	}
	return dto
}

type messageErrorDTO struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type mediaDTO struct {
	MimeType string `json:"mimetype"`
	Size     int64  `json:"size"`
	FileName string `json:"filename,omitempty"`
	URL      string `json:"url,omitempty"`
	Seconds  int    `json:"seconds,omitempty"`
}

type messageDTO struct {
	ID          string           `json:"id"`
	DeviceID    int64            `json:"deviceId"`
	Direction   string           `json:"direction"`
	Chat        string           `json:"chat"`
	From        string           `json:"from,omitempty"`
	FromPhone   string           `json:"fromPhone,omitempty"`
	FromLID     string           `json:"fromLid,omitempty"`
	To          string           `json:"to,omitempty"`
	PushName    string           `json:"pushName,omitempty"`
	IsGroup     bool             `json:"isGroup"`
	Type        string           `json:"type"`
	Text        string           `json:"text,omitempty"`
	Caption     string           `json:"caption,omitempty"`
	Media       *mediaDTO        `json:"media,omitempty"`
	QuotedID    string           `json:"quotedId,omitempty"`
	WAID        string           `json:"waId,omitempty"`
	Status      string           `json:"status"`
	Error       *messageErrorDTO `json:"error,omitempty"`
	CreatedAt   nullTime         `json:"createdAt"`
	Timestamp   nullTime         `json:"timestamp"`
	SentAt      nullTime         `json:"sentAt"`
	DeliveredAt nullTime         `json:"deliveredAt"`
	ReadAt      nullTime         `json:"readAt"`
	FailedAt    nullTime         `json:"failedAt"`
	// The other kinds of message.
	Mentions    []string             `json:"mentions,omitempty"`
	LinkPreview bool                 `json:"linkPreview,omitempty"`
	Location    *storage.Location    `json:"location,omitempty"`
	Contact     *storage.ContactCard `json:"contact,omitempty"`
	Poll        *storage.Poll        `json:"poll,omitempty"`
	TargetID    string               `json:"targetId,omitempty"`
	EditedAt    *nullTime            `json:"editedAt,omitempty"`
	RevokedAt   *nullTime            `json:"revokedAt,omitempty"`
}

func newMessageDTO(m storage.Message) messageDTO {
	dto := messageDTO{
		ID:          m.ID,
		DeviceID:    m.DeviceID,
		Direction:   m.Direction,
		Chat:        m.Chat,
		From:        m.From,
		FromPhone:   m.FromPhone,
		FromLID:     m.FromLID,
		To:          m.To,
		PushName:    m.PushName,
		IsGroup:     m.IsGroup,
		Type:        m.Type,
		Text:        m.Text,
		Caption:     m.Caption,
		QuotedID:    m.QuotedID,
		WAID:        m.WAID,
		Status:      m.Status,
		CreatedAt:   nullTime(m.CreatedAt),
		Timestamp:   nullTime(m.Timestamp),
		SentAt:      nullTime(m.SentAt),
		DeliveredAt: nullTime(m.DeliveredAt),
		ReadAt:      nullTime(m.ReadAt),
		FailedAt:    nullTime(m.FailedAt),
	}
	if m.Media != nil {
		dto.Media = &mediaDTO{MimeType: m.Media.MimeType, Size: m.Media.Size, FileName: m.Media.FileName,
			URL: "/api/messages/" + m.ID + "/media", Seconds: m.Media.Seconds}
	}
	dto.Mentions, dto.LinkPreview, dto.TargetID = m.Mentions, m.LinkPreview, m.TargetID
	dto.Location, dto.Contact, dto.Poll = m.Location, m.Contact, m.Poll
	if !m.EditedAt.IsZero() {
		t := nullTime(m.EditedAt)
		dto.EditedAt = &t
	}
	if !m.RevokedAt.IsZero() {
		t := nullTime(m.RevokedAt)
		dto.RevokedAt = &t
	}
	if m.Error != nil {
		dto.Error = &messageErrorDTO{Code: m.Error.Code, Message: m.Error.Message}
	}
	return dto
}

// listDTO is the shape of every list: a page of items and the cursor of the
// next page (null at the end).
type listDTO[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
}

func newListDTO[T any](items []T, next string) listDTO[T] {
	if items == nil {
		items = []T{}
	}
	return listDTO[T]{Items: items, NextCursor: nullString(next)}
}

// qrDTO is a QR code to scan, ready to show: the raw code and a PNG data URL.
type qrDTO struct {
	Code      string   `json:"code"`
	Image     string   `json:"image"`
	ExpiresAt nullTime `json:"expiresAt"`
}

// QR images: 256 px, medium error recovery (what WhatsApp's own web client
// shows is comparable, and phones read it from a screen without trouble).
const (
	qrImageSize     = 256
	qrRecoveryLevel = qrcode.Medium
)

// qrPNG renders a pairing code as a PNG.
func qrPNG(code string) ([]byte, error) {
	png, err := qrcode.Encode(code, qrRecoveryLevel, qrImageSize)
	if err != nil {
		return nil, fmt.Errorf("render qr: %w", err)
	}
	return png, nil
}

// newQRDTO is the one place a QR code becomes its wire form, for the REST
// answer and for SSE frames alike.
func newQRDTO(code string, expiresAt time.Time) (qrDTO, error) {
	png, err := qrPNG(code)
	if err != nil {
		return qrDTO{}, err
	}
	return qrDTO{
		Code:      code,
		Image:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
		ExpiresAt: nullTime(expiresAt),
	}, nil
}

// eventDTO is the event envelope (API.md §6).
type eventDTO struct {
	ID          string          `json:"id"`
	Seq         uint64          `json:"seq"`
	Type        string          `json:"type"`
	CreatedAt   nullTime        `json:"createdAt"`
	WorkspaceID int64           `json:"workspaceId"`
	DeviceID    int64           `json:"deviceId,omitempty"`
	Data        json.RawMessage `json:"data"`
}

func newEventDTO(e storage.Event) eventDTO {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return eventDTO{
		ID:          e.ID,
		Seq:         e.Seq,
		Type:        e.Type,
		CreatedAt:   nullTime(e.CreatedAt),
		WorkspaceID: e.WorkspaceID,
		DeviceID:    e.DeviceID,
		Data:        data,
	}
}

// statusDataDTO is the data of a device.status event.
type statusDataDTO struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Phone  string `json:"phone,omitempty"`
}

// deletedDTO answers a successful DELETE.
type deletedDTO struct {
	Deleted bool `json:"deleted"`
}
