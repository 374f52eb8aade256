package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Chats as the gateway saw them, read receipts and chat presence.

type chatDTO struct {
	JID           string   `json:"jid"`
	Name          string   `json:"name,omitempty"`
	IsGroup       bool     `json:"isGroup"`
	LastMessageID string   `json:"lastMessageId"`
	LastMessageAt nullTime `json:"lastMessageAt"`
	UnreadCount   int      `json:"unreadCount"`
}

// listChats lists the device's chats as the gateway saw them, most recent
// message first.
func (s *Server) listChats(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	limit, err := listLimit(c)
	if err != nil {
		return err
	}
	chats, next, err := s.gw.Chats(c.UserContext(), d.WorkspaceID, d.ID, limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	items := make([]chatDTO, len(chats))
	for i, ch := range chats {
		items[i] = chatDTO{JID: ch.JID, Name: ch.Name, IsGroup: ch.IsGroup, LastMessageID: ch.LastMessageID,
			LastMessageAt: nullTime(ch.LastMessageAt), UnreadCount: ch.UnreadCount}
	}
	return respond(c, fiber.StatusOK, newListDTO(items, next))
}

type chatReadRequest struct {
	DeviceID flexID `json:"deviceId"`
	Chat     string `json:"chat"`
}

type chatReadDTO struct {
	Chat       string   `json:"chat"`
	MessageIDs []string `json:"messageIds"`
}

// readChat sends read receipts for a chat's unread messages.
func (s *Server) readChat(c *fiber.Ctx) error {
	var req chatReadRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.bodyDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.Chat) == "" {
		return validationError("chat", "chat is required")
	}
	chat, err := engine.ParseRecipient(req.Chat)
	if err != nil {
		return err
	}
	ids, err := s.gw.MarkChatRead(c.UserContext(), d.WorkspaceID, d.ID, chat)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return respond(c, fiber.StatusOK, chatReadDTO{Chat: chat.String(), MessageIDs: ids})
}

type presenceRequest struct {
	DeviceID flexID `json:"deviceId"`
	To       string `json:"to"`
	State    string `json:"state"`
}

type presenceDTO struct {
	To    string `json:"to"`
	State string `json:"state"`
}

// chatPresences are the states POST /api/presence takes.
var chatPresences = map[string]engine.ChatPresence{
	"typing":    engine.ChatTyping,
	"recording": engine.ChatRecording,
	"paused":    engine.ChatPaused,
}

// sendPresence shows typing, recording or nothing in a chat.
func (s *Server) sendPresence(c *fiber.Ctx) error {
	var req presenceRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.bodyDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.To) == "" {
		return validationError("to", "to is required")
	}
	to, err := engine.ParseRecipient(req.To)
	if err != nil {
		return err
	}
	state, ok := chatPresences[req.State]
	if !ok {
		return validationError("state", "state must be typing, recording or paused")
	}
	if err := s.gw.SendChatPresence(c.UserContext(), d.WorkspaceID, d.ID, to, state); err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, presenceDTO{To: to.String(), State: req.State})
}
