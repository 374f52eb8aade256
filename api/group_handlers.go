package api

import (
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Groups the device belongs to: list, create, change members, invite link,
// leave.

// Bounds of group requests, after WhatsApp's own.
const (
	maxGroupSubject      = 100
	maxGroupParticipants = 1024
)

type participantDTO struct {
	JID          string `json:"jid"`
	Phone        string `json:"phone,omitempty"`
	LID          string `json:"lid,omitempty"`
	IsAdmin      bool   `json:"isAdmin"`
	IsSuperAdmin bool   `json:"isSuperAdmin"`
}

type participantResultDTO struct {
	JID   string  `json:"jid"`
	Ok    bool    `json:"ok"`
	Error *string `json:"error"`
}

type groupDTO struct {
	JID          string                 `json:"jid"`
	Subject      string                 `json:"subject"`
	Owner        string                 `json:"owner,omitempty"`
	CreatedAt    nullTime               `json:"createdAt"`
	Participants []participantDTO       `json:"participants"`
	Failed       []participantResultDTO `json:"failed,omitempty"`
}

func newGroupDTO(g engine.Group) groupDTO {
	dto := groupDTO{JID: g.JID.String(), Subject: g.Subject, Owner: g.Owner.String(), CreatedAt: nullTime(g.CreatedAt),
		Participants: make([]participantDTO, len(g.Participants))}
	for i, p := range g.Participants {
		dto.Participants[i] = participantDTO{JID: p.JID.String(), Phone: p.Phone, LID: p.LID, IsAdmin: p.IsAdmin, IsSuperAdmin: p.IsSuperAdmin}
	}
	for _, f := range g.Failed {
		dto.Failed = append(dto.Failed, newParticipantResultDTO(f))
	}
	return dto
}

func newParticipantResultDTO(r engine.ParticipantResult) participantResultDTO {
	return participantResultDTO{JID: r.JID.String(), Ok: r.Error == "", Error: nullString(r.Error)}
}

// listGroups lists the groups the device is in.
func (s *Server) listGroups(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	groups, err := s.gw.Groups(c.UserContext(), d.WorkspaceID, d.ID)
	if err != nil {
		return err
	}
	items := make([]groupDTO, len(groups))
	for i, g := range groups {
		items[i] = newGroupDTO(g)
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

type createGroupRequest struct {
	DeviceID     flexID   `json:"deviceId"`
	Subject      string   `json:"subject"`
	Participants []string `json:"participants"`
}

// createGroup creates a group owned by the device.
func (s *Server) createGroup(c *fiber.Ctx) error {
	var req createGroupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.bodyDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	subject := strings.TrimSpace(req.Subject)
	if subject == "" || utf8.RuneCountInString(subject) > maxGroupSubject {
		return validationError("subject", "subject is required, at most 100 characters")
	}
	participants, err := parseParticipants(req.Participants, false)
	if err != nil {
		return err
	}
	g, err := s.gw.CreateGroup(c.UserContext(), d.WorkspaceID, d.ID, subject, participants)
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusCreated, newGroupDTO(g))
}

type participantsRequest struct {
	DeviceID     flexID   `json:"deviceId"`
	Action       string   `json:"action"`
	Participants []string `json:"participants"`
}

// participantActions are the changes POST …/participants takes.
var participantActions = map[string]engine.ParticipantAction{
	"add":     engine.ParticipantAdd,
	"remove":  engine.ParticipantRemove,
	"promote": engine.ParticipantPromote,
	"demote":  engine.ParticipantDemote,
}

// updateParticipants adds, removes, promotes or demotes members; the
// answer says, per participant, whether it worked.
func (s *Server) updateParticipants(c *fiber.Ctx) error {
	var req participantsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	d, err := s.bodyDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	group, err := groupParam(c)
	if err != nil {
		return err
	}
	action, ok := participantActions[req.Action]
	if !ok {
		return validationError("action", "action must be add, remove, promote or demote")
	}
	participants, err := parseParticipants(req.Participants, true)
	if err != nil {
		return err
	}
	results, err := s.gw.UpdateParticipants(c.UserContext(), d.WorkspaceID, d.ID, group, action, participants)
	if err != nil {
		return err
	}
	items := make([]participantResultDTO, len(results))
	for i, r := range results {
		items[i] = newParticipantResultDTO(r)
	}
	return respond(c, fiber.StatusOK, newListDTO(items, ""))
}

type inviteLinkDTO struct {
	JID  string `json:"jid"`
	Link string `json:"link"`
}

// groupInviteLink returns the group's invite link (?reset=true revokes the
// old one first).
func (s *Server) groupInviteLink(c *fiber.Ctx) error {
	d, err := s.queryDevice(c)
	if err != nil {
		return err
	}
	group, err := groupParam(c)
	if err != nil {
		return err
	}
	link, err := s.gw.InviteLink(c.UserContext(), d.WorkspaceID, d.ID, group, c.QueryBool("reset"))
	if err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, inviteLinkDTO{JID: group.String(), Link: link})
}

type leaveGroupRequest struct {
	DeviceID flexID `json:"deviceId"`
}

type leftDTO struct {
	JID  string `json:"jid"`
	Left bool   `json:"left"`
}

// leaveGroup makes the device leave a group.
func (s *Server) leaveGroup(c *fiber.Ctx) error {
	var req leaveGroupRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !req.DeviceID.Present && c.Query("deviceId") != "" {
		req.DeviceID.Present = true
		req.DeviceID.Value, req.DeviceID.Valid = parseID(c.Query("deviceId"))
	}
	d, err := s.bodyDevice(c, req.DeviceID)
	if err != nil {
		return err
	}
	group, err := groupParam(c)
	if err != nil {
		return err
	}
	if err := s.gw.LeaveGroup(c.UserContext(), d.WorkspaceID, d.ID, group); err != nil {
		return err
	}
	return respond(c, fiber.StatusOK, leftDTO{JID: group.String(), Left: true})
}

// groupParam reads {jid} as a group JID ("…@g.us", or its user part alone).
func groupParam(c *fiber.Ctx) (engine.JID, error) {
	raw, err := url.PathUnescape(c.Params("jid"))
	if err == nil && !strings.Contains(raw, "@") {
		raw += "@" + engine.ServerGroup
	}
	jid, perr := engine.ParseRecipient(raw)
	if err != nil || perr != nil || !jid.IsGroup() {
		return engine.JID{}, engine.ErrGroupNotFound
	}
	return jid, nil
}

// parseParticipants reads participants: phone numbers or user/LID JIDs.
func parseParticipants(raw []string, required bool) ([]engine.JID, error) {
	if (required && len(raw) == 0) || len(raw) > maxGroupParticipants {
		return nil, validationError("participants", "participants must list 1 to 1024 phone numbers or user JIDs")
	}
	out := make([]engine.JID, 0, len(raw))
	for _, r := range raw {
		j, err := engine.ParseRecipient(r)
		if err != nil || (j.Server != engine.ServerUser && j.Server != engine.ServerLID) {
			return nil, validationError("participants", "participants must be phone numbers or user JIDs: "+r)
		}
		out = append(out, j)
	}
	return out, nil
}
