package live

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// Groups implements engine.Groups.
func (s *session) Groups(ctx context.Context) ([]engine.Group, error) {
	a, err := s.connected()
	if err != nil {
		return nil, fmt.Errorf("groups: %w", err)
	}
	infos, err := a.cli.GetJoinedGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("groups: %w", groupError(err))
	}
	out := make([]engine.Group, 0, len(infos))
	for _, info := range infos {
		out = append(out, engineGroup(info))
	}
	slices.SortFunc(out, func(a, b engine.Group) int { return strings.Compare(a.JID.User, b.JID.User) })
	return out, nil
}

// CreateGroup implements engine.Groups.
func (s *session) CreateGroup(ctx context.Context, subject string, participants []engine.JID) (engine.Group, error) {
	jids, err := userJIDs(participants)
	if err != nil {
		return engine.Group{}, fmt.Errorf("create group: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return engine.Group{}, fmt.Errorf("create group: %w", err)
	}
	info, err := a.cli.CreateGroup(ctx, whatsmeow.ReqCreateGroup{Name: subject, Participants: jids})
	if err != nil {
		return engine.Group{}, fmt.Errorf("create group: %w", groupError(err))
	}
	return engineGroup(info), nil
}

// UpdateParticipants implements engine.Groups.
func (s *session) UpdateParticipants(ctx context.Context, group engine.JID, action engine.ParticipantAction, participants []engine.JID) ([]engine.ParticipantResult, error) {
	g, err := groupJID(group)
	if err != nil {
		return nil, fmt.Errorf("%s participants: %w", action, err)
	}
	change, ok := participantChanges[action]
	if !ok {
		return nil, fmt.Errorf("participant action %q: %w", action, engine.ErrUnsupported)
	}
	jids, err := userJIDs(participants)
	if err != nil {
		return nil, fmt.Errorf("%s participants: %w", action, err)
	}
	a, err := s.connected()
	if err != nil {
		return nil, fmt.Errorf("%s participants: %w", action, err)
	}
	answered, err := a.cli.UpdateGroupParticipants(ctx, g, jids, change)
	if err != nil {
		return nil, fmt.Errorf("%s participants of %s: %w", action, g, groupError(err))
	}
	// One result per JID asked for, in order: WhatsApp answers each by the
	// JID it was asked with (its LID next to a phone number).
	out := make([]engine.ParticipantResult, len(participants))
	for i, jid := range jids {
		out[i] = engine.ParticipantResult{JID: participants[i], Error: engine.ParticipantErrorNotAllowed}
		for _, p := range answered {
			if p.JID.ToNonAD() == jid || p.PhoneNumber.ToNonAD() == jid || p.LID.ToNonAD() == jid {
				out[i].Error = participantError(action, p.Error)
				break
			}
		}
	}
	return out, nil
}

// participantChanges are whatsmeow's names of the seam's actions.
var participantChanges = map[engine.ParticipantAction]whatsmeow.ParticipantChange{
	engine.ParticipantAdd:     whatsmeow.ParticipantChangeAdd,
	engine.ParticipantRemove:  whatsmeow.ParticipantChangeRemove,
	engine.ParticipantPromote: whatsmeow.ParticipantChangePromote,
	engine.ParticipantDemote:  whatsmeow.ParticipantChangeDemote,
}

// InviteLink implements engine.Groups.
func (s *session) InviteLink(ctx context.Context, group engine.JID, reset bool) (string, error) {
	g, err := groupJID(group)
	if err != nil {
		return "", fmt.Errorf("invite link: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return "", fmt.Errorf("invite link: %w", err)
	}
	link, err := a.cli.GetGroupInviteLink(ctx, g, reset)
	if err != nil {
		return "", fmt.Errorf("invite link of %s: %w", g, groupError(err))
	}
	return link, nil
}

// LeaveGroup implements engine.Groups.
func (s *session) LeaveGroup(ctx context.Context, group engine.JID) error {
	g, err := groupJID(group)
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	a, err := s.connected()
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	if err := a.cli.LeaveGroup(ctx, g); err != nil {
		return fmt.Errorf("leave %s: %w", g, groupError(err))
	}
	return nil
}

// engineGroup describes a group for the seam; participants CreateGroup
// could not add (an error code in WhatsApp's answer) go to Failed.
func engineGroup(info *types.GroupInfo) engine.Group {
	g := engine.Group{JID: engineJID(info.JID), Subject: info.Name, CreatedAt: info.GroupCreated.UTC()}
	owner := info.OwnerPN
	if owner.IsEmpty() {
		owner = info.OwnerJID
	}
	if !owner.IsEmpty() {
		g.Owner = engineJID(owner.ToNonAD())
	}
	for _, p := range info.Participants {
		jid := p.PhoneNumber
		if jid.IsEmpty() {
			jid = p.JID
		}
		jid = jid.ToNonAD()
		if p.Error != 0 {
			g.Failed = append(g.Failed, engine.ParticipantResult{JID: engineJID(jid), Error: participantError(engine.ParticipantAdd, p.Error)})
			continue
		}
		part := engine.Participant{JID: engineJID(jid), IsAdmin: p.IsAdmin, IsSuperAdmin: p.IsSuperAdmin}
		if !p.PhoneNumber.IsEmpty() {
			part.Phone = p.PhoneNumber.User
		}
		if !p.LID.IsEmpty() {
			part.LID = p.LID.User
		}
		g.Participants = append(g.Participants, part)
	}
	slices.SortFunc(g.Participants, func(a, b engine.Participant) int { return strings.Compare(a.JID.User, b.JID.User) })
	return g
}

// participantError names WhatsApp's error code for one participant of an
// action: 409 is "already a member"; 400 and 404 are "no such user" when
// adding and "not a member" otherwise; the rest (403 privacy settings,
// 406 the group's creator, 408 left recently…) are "not allowed".
func participantError(action engine.ParticipantAction, code int) string {
	switch {
	case code == 0:
		return ""
	case code == 409:
		return engine.ParticipantErrorAlreadyInGroup
	case (code == 400 || code == 404) && action == engine.ParticipantAdd:
		return engine.ParticipantErrorNotOnWhatsApp
	case code == 404:
		return engine.ParticipantErrorNotInGroup
	}
	return engine.ParticipantErrorNotAllowed
}

// groupError maps whatsmeow's answers to group queries onto the seam's
// errors: a group the device is not in reads as not found, a change only
// admins may make as ErrNotGroupAdmin.
func groupError(err error) error {
	switch {
	case errors.Is(err, whatsmeow.ErrGroupNotFound), errors.Is(err, whatsmeow.ErrNotInGroup),
		errors.Is(err, whatsmeow.ErrIQNotFound), errors.Is(err, whatsmeow.ErrIQForbidden):
		return fmt.Errorf("%w: %v", engine.ErrGroupNotFound, err)
	case errors.Is(err, whatsmeow.ErrGroupInviteLinkUnauthorized), errors.Is(err, whatsmeow.ErrIQNotAuthorized):
		return fmt.Errorf("%w: %v", engine.ErrNotGroupAdmin, err)
	}
	return transportError(err)
}

// groupJID is the whatsmeow JID of a group.
func groupJID(j engine.JID) (types.JID, error) {
	if j.Server != engine.ServerGroup || j.User == "" {
		return types.JID{}, fmt.Errorf("%w: %q is not a group", engine.ErrGroupNotFound, j.String())
	}
	return types.NewJID(j.User, types.GroupServer), nil
}

// userJIDs are the whatsmeow JIDs of users (phone numbers or LIDs).
func userJIDs(users []engine.JID) ([]types.JID, error) {
	out := make([]types.JID, len(users))
	for i, u := range users {
		if u.Server != engine.ServerUser && u.Server != engine.ServerLID || u.User == "" {
			return nil, fmt.Errorf("%w: %q is not a user", engine.ErrInvalidRecipient, u.String())
		}
		out[i] = types.NewJID(u.User, u.Server)
	}
	return out, nil
}
