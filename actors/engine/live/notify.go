package live

import (
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

// What WhatsApp reports besides messages and receipts: group changes,
// presence, typing and calls, mapped to the seam's events. Called with
// s.mu held, like every conversion.

// person is a user as events name them: the phone-number JID when known,
// with the phone number and the LID, each when known.
func (s *session) person(a *attempt, jid, alt types.JID) (engine.JID, identity) {
	if jid.IsEmpty() {
		return engine.JID{}, identity{}
	}
	id := s.identify(a, jid, alt)
	return preferPhone(jid.ToNonAD(), id), id
}

func optionalJID(j *types.JID) types.JID {
	if j == nil {
		return types.EmptyJID
	}
	return *j
}

// joinedGroup maps whatsmeow's JoinedGroup: the device created a group,
// was added to one or joined by link.
func (s *session) joinedGroup(a *attempt, e *events.JoinedGroup) engine.GroupUpdate {
	actor, who := s.person(a, optionalJID(e.Sender), optionalJID(e.SenderPN))
	u := engine.GroupUpdate{Group: engineJID(e.JID), Actor: actor, ActorPhone: who.phone, ActorLID: who.lid, Joined: true,
		Subject: e.Name, At: e.GroupCreated}
	if e.Topic != "" {
		u.Description, u.DescriptionSet = e.Topic, true
	}
	return u
}

// groupChanges maps whatsmeow's GroupInfo: one GroupUpdate when the
// group's settings changed, and one GroupParticipants per membership
// action it carries.
func (s *session) groupChanges(a *attempt, e *events.GroupInfo) []engine.Event {
	actor, who := s.person(a, optionalJID(e.Sender), optionalJID(e.SenderPN))
	group := engineJID(e.JID)
	var out []engine.Event
	if e.Name != nil || e.Topic != nil || e.Announce != nil || e.Locked != nil {
		u := engine.GroupUpdate{Group: group, Actor: actor, ActorPhone: who.phone, ActorLID: who.lid, At: e.Timestamp}
		if e.Name != nil {
			u.Subject = e.Name.Name
		}
		if e.Topic != nil {
			u.Description, u.DescriptionSet = e.Topic.Topic, true
		}
		if e.Announce != nil {
			announce := e.Announce.IsAnnounce // a copy: the event stays whatsmeow's
			u.Announce = &announce
		}
		if e.Locked != nil {
			locked := e.Locked.IsLocked
			u.Locked = &locked
		}
		out = append(out, u)
	}
	for _, c := range []struct {
		action engine.ParticipantAction
		jids   []types.JID
	}{
		{engine.ParticipantAdd, e.Join},
		{engine.ParticipantRemove, e.Leave},
		{engine.ParticipantPromote, e.Promote},
		{engine.ParticipantDemote, e.Demote},
	} {
		if len(c.jids) == 0 {
			continue
		}
		p := engine.GroupParticipants{Group: group, Actor: actor, ActorPhone: who.phone, ActorLID: who.lid, Action: c.action, At: e.Timestamp}
		for _, j := range c.jids {
			jid, id := s.person(a, j, types.EmptyJID)
			p.Participants = append(p.Participants, engine.Participant{JID: jid, Phone: id.phone, LID: id.lid})
		}
		out = append(out, p)
	}
	return out
}

// chatPresence maps typing, recording and stopping in a chat.
func (s *session) chatPresence(a *attempt, e *events.ChatPresence) engine.ChatPresenceUpdate {
	sender, who := s.person(a, e.Sender, e.SenderAlt)
	state := engine.ChatPaused
	if e.State == types.ChatPresenceComposing {
		state = engine.ChatTyping
		if e.Media == types.ChatPresenceMediaAudio {
			state = engine.ChatRecording
		}
	}
	chat := sender
	if e.IsGroup {
		chat = engineJID(e.Chat)
	}
	return engine.ChatPresenceUpdate{Chat: chat, Sender: sender, SenderPhone: who.phone, SenderLID: who.lid, State: state}
}

// presence maps a contact's online status.
func (s *session) presence(a *attempt, e *events.Presence) engine.PresenceUpdate {
	from, who := s.person(a, e.From, types.EmptyJID)
	return engine.PresenceUpdate{From: from, FromPhone: who.phone, FromLID: who.lid, Available: !e.Unavailable, LastSeen: e.LastSeen}
}

// callOffer maps an incoming call; the offer says whether it is a video
// call.
func (s *session) callOffer(a *attempt, e *events.CallOffer) engine.CallOffer {
	from, who := s.person(a, e.CallCreator, e.CallCreatorAlt)
	if from.IsZero() {
		from, who = s.person(a, e.From, types.EmptyJID)
	}
	video := false
	if e.Data != nil {
		_, video = e.Data.GetOptionalChildByTag("video")
	}
	return engine.CallOffer{CallID: e.CallID, From: from, FromPhone: who.phone, FromLID: who.lid, IsVideo: video, IsGroup: !e.GroupJID.IsEmpty(), At: e.Timestamp}
}
