package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/engine"
)

func TestContactsAndChats(t *testing.T) {
	sb := newSandbox(t)
	dev := itoa(sb.dev)
	sb.sentText(t) // to 628111222333
	for range 2 {
		sb.ts.do("POST", "/api/devices/"+dev+"/sandbox/inbound", map[string]any{"from": "4915112345678", "pushName": "Bob", "text": "hey"}, sb.admin).ok(t, http.StatusAccepted, nil)
	}

	var contacts wireList[struct {
		JID      string `json:"jid"`
		Phone    string `json:"phone"`
		PushName string `json:"pushName"`
	}]
	sb.ts.do("GET", "/api/contacts?deviceId="+dev, nil, sb.admin).ok(t, http.StatusOK, &contacts)
	if len(contacts.Items) != 2 || contacts.Items[0].JID != "4915112345678@s.whatsapp.net" || contacts.Items[0].PushName != "Bob" || contacts.Items[1].Phone != "628111222333" {
		t.Errorf("contacts = %+v", contacts.Items)
	}

	var checks wireList[struct {
		Phone      string  `json:"phone"`
		OnWhatsApp bool    `json:"onWhatsApp"`
		JID        *string `json:"jid"`
	}]
	sb.ts.do("GET", "/api/contacts/check?deviceId="+dev+"&phones="+url.QueryEscape("+62 811 1222 333,9991234567"), nil, sb.admin).ok(t, http.StatusOK, &checks)
	if len(checks.Items) != 2 || !checks.Items[0].OnWhatsApp || checks.Items[0].JID == nil || *checks.Items[0].JID != "628111222333@s.whatsapp.net" ||
		checks.Items[1].OnWhatsApp || checks.Items[1].JID != nil {
		t.Errorf("checks = %+v", checks.Items)
	}

	var av struct {
		JID string `json:"jid"`
		URL string `json:"url"`
	}
	sb.ts.do("GET", "/api/contacts/"+url.PathEscape("4915112345678@s.whatsapp.net")+"/avatar?deviceId="+dev, nil, sb.admin).ok(t, http.StatusOK, &av)
	if av.JID != "4915112345678@s.whatsapp.net" || !strings.HasPrefix(av.URL, "data:image/svg+xml;base64,") {
		t.Errorf("avatar = %+v", av)
	}
	sb.ts.do("GET", "/api/contacts/9991234567/avatar?deviceId="+dev, nil, sb.admin).fails(t, http.StatusNotFound, "no_avatar")

	// Chats: the one just written to, and the one with two unread messages.
	var chats wireList[struct {
		JID         string `json:"jid"`
		Name        string `json:"name"`
		UnreadCount int    `json:"unreadCount"`
	}]
	waitFor(t, 5*time.Second, func() error {
		sb.ts.do("GET", "/api/chats?deviceId="+dev, nil, sb.admin).ok(t, http.StatusOK, &chats)
		if len(chats.Items) != 2 || chats.Items[0].UnreadCount != 2 {
			return fmt.Errorf("chats = %+v", chats.Items)
		}
		return nil
	})
	if chats.Items[0].JID != "4915112345678@s.whatsapp.net" || chats.Items[0].Name != "Bob" || chats.Items[1].UnreadCount != 0 {
		t.Errorf("chats = %+v", chats.Items)
	}
	var read struct {
		Chat       string   `json:"chat"`
		MessageIDs []string `json:"messageIds"`
	}
	sb.ts.do("POST", "/api/chats/read", map[string]any{"deviceId": sb.dev, "chat": "4915112345678"}, sb.admin).ok(t, http.StatusOK, &read)
	if read.Chat != "4915112345678@s.whatsapp.net" || len(read.MessageIDs) != 2 {
		t.Errorf("read = %+v", read)
	}
	receipts := sb.ts.sim.ReadReceipts(sb.dev)
	if len(receipts) != 1 || len(receipts[0].WAIDs) != 2 || receipts[0].Chat != engine.UserJID("4915112345678") {
		t.Errorf("read receipts the contact got: %+v", receipts)
	}
	sb.ts.do("GET", "/api/chats?deviceId="+dev, nil, sb.admin).ok(t, http.StatusOK, &chats)
	if chats.Items[0].UnreadCount != 0 {
		t.Errorf("after read: %+v", chats.Items)
	}

	sb.ts.do("POST", "/api/presence", map[string]any{"deviceId": sb.dev, "to": "4915112345678", "state": "typing"}, sb.admin).ok(t, http.StatusOK, nil)
	if p := sb.ts.sim.Presences(sb.dev); len(p) != 1 || p[0].Chat != engine.UserJID("4915112345678") || p[0].State != engine.ChatTyping || p[0].At.IsZero() {
		t.Errorf("presences = %+v", p)
	}

	// Bad input, and what needs a connection.
	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"GET", "/api/contacts", nil, 400, "validation_failed"},
		{"GET", "/api/contacts?deviceId=99999", nil, 404, "device_not_found"},
		{"GET", "/api/contacts/check?deviceId=" + dev, nil, 400, "validation_failed"},
		{"GET", "/api/contacts/check?deviceId=" + dev + "&phones=abc", nil, 400, "validation_failed"},
		{"GET", "/api/contacts/nonsense/avatar?deviceId=" + dev, nil, 400, "invalid_recipient"},
		{"POST", "/api/chats/read", map[string]any{"deviceId": sb.dev}, 400, "validation_failed"},
		{"POST", "/api/presence", map[string]any{"deviceId": sb.dev, "to": "4915112345678", "state": "dancing"}, 400, "validation_failed"},
		{"GET", "/api/chats?deviceId=" + dev + "&cursor=zzz", nil, 400, "invalid_cursor"},
	} {
		sb.ts.do(tt.method, tt.path, tt.body, sb.admin).fails(t, tt.status, tt.code)
	}
	sb.ts.do("POST", "/api/devices/"+dev+"/disconnect", nil, sb.admin).ok(t, http.StatusOK, nil)
	sb.ts.do("GET", "/api/contacts?deviceId="+dev, nil, sb.admin).fails(t, http.StatusConflict, "device_not_connected")
	sb.ts.do("POST", "/api/presence", map[string]any{"deviceId": sb.dev, "to": "4915112345678", "state": "paused"}, sb.admin).fails(t, http.StatusConflict, "device_not_connected")

	// Another workspace does not see the device.
	other := newSandboxIn(t, sb.ts)
	other.ts.do("GET", "/api/chats?deviceId="+dev, nil, other.admin).fails(t, http.StatusNotFound, "device_not_found")
}

func TestGroups(t *testing.T) {
	sb := newSandbox(t)
	member := newSandboxIn(t, sb.ts) // another sandbox device, in another workspace
	memberPhone := "1555" + fmt.Sprintf("%07d", member.dev)

	type wireGroup struct {
		JID          string `json:"jid"`
		Subject      string `json:"subject"`
		Participants []struct {
			JID     string `json:"jid"`
			IsAdmin bool   `json:"isAdmin"`
		} `json:"participants"`
		Failed []struct {
			JID   string  `json:"jid"`
			Error *string `json:"error"`
		} `json:"failed"`
	}
	var g wireGroup
	sb.ts.do("POST", "/api/groups", map[string]any{"deviceId": sb.dev, "subject": "Team", "participants": []string{memberPhone, "9991234567"}}, sb.admin).ok(t, http.StatusCreated, &g)
	if !strings.HasSuffix(g.JID, "@g.us") || g.Subject != "Team" || len(g.Participants) != 2 || len(g.Failed) != 1 || *g.Failed[0].Error != "not_on_whatsapp" {
		t.Fatalf("created %+v", g)
	}
	jid := url.PathEscape(g.JID)

	var groups wireList[wireGroup]
	member.ts.do("GET", "/api/groups?deviceId="+itoa(member.dev), nil, member.admin).ok(t, http.StatusOK, &groups)
	if len(groups.Items) != 1 || groups.Items[0].JID != g.JID {
		t.Fatalf("member's groups = %+v", groups.Items)
	}

	var results wireList[struct {
		JID   string  `json:"jid"`
		Ok    bool    `json:"ok"`
		Error *string `json:"error"`
	}]
	sb.ts.do("POST", "/api/groups/"+jid+"/participants", map[string]any{"deviceId": sb.dev, "action": "add", "participants": []string{"4915112345678", memberPhone}}, sb.admin).
		ok(t, http.StatusOK, &results)
	if len(results.Items) != 2 || !results.Items[0].Ok || results.Items[1].Ok || *results.Items[1].Error != "already_in_group" {
		t.Errorf("add = %+v", results.Items)
	}
	sb.ts.do("POST", "/api/groups/"+jid+"/participants", map[string]any{"deviceId": sb.dev, "action": "promote", "participants": []string{memberPhone}}, sb.admin).ok(t, http.StatusOK, &results)
	if !results.Items[0].Ok {
		t.Errorf("promote = %+v", results.Items)
	}

	var link struct {
		Link string `json:"link"`
	}
	sb.ts.do("GET", "/api/groups/"+jid+"/invite-link?deviceId="+itoa(sb.dev), nil, sb.admin).ok(t, http.StatusOK, &link)
	if !strings.HasPrefix(link.Link, "https://chat.whatsapp.com/") {
		t.Errorf("link = %q", link.Link)
	}

	// A group send goes through the queue like any other.
	var m wireMessage
	sb.send(t, "/api/messages/send-text", map[string]any{"to": g.JID, "text": "hello team"}).ok(t, http.StatusAccepted, &m)
	if got := sb.received(t, sb.waitStatus(t, m.ID, "read")); got.To.String() != g.JID || got.Text != "hello team" {
		t.Errorf("group message received as %+v", got)
	}

	// The member leaves: the group is gone from its list, and a send there fails.
	member.ts.do("POST", "/api/groups/"+jid+"/leave", map[string]any{"deviceId": member.dev}, member.admin).ok(t, http.StatusOK, nil)
	member.ts.do("GET", "/api/groups?deviceId="+itoa(member.dev), nil, member.admin).ok(t, http.StatusOK, &groups)
	if len(groups.Items) != 0 {
		t.Errorf("after leaving: %+v", groups.Items)
	}
	member.ts.do("POST", "/api/groups/"+jid+"/leave", map[string]any{"deviceId": member.dev}, member.admin).fails(t, http.StatusNotFound, "group_not_found")
	var failed wireMessage
	member.send(t, "/api/messages/send-text?wait=true", map[string]any{"to": g.JID, "text": "still here?"}).ok(t, http.StatusOK, &failed)
	if failed.Status != "failed" {
		t.Errorf("send to a group left: %+v", failed)
	}

	for _, tt := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/groups", map[string]any{"deviceId": sb.dev}, 400, "validation_failed"},
		{"POST", "/api/groups", map[string]any{"deviceId": sb.dev, "subject": strings.Repeat("x", 101)}, 400, "validation_failed"},
		{"POST", "/api/groups", map[string]any{"deviceId": sb.dev, "subject": "x", "participants": []string{"1203@g.us"}}, 400, "validation_failed"},
		{"POST", "/api/groups/" + jid + "/participants", map[string]any{"deviceId": sb.dev, "action": "kick", "participants": []string{memberPhone}}, 400, "validation_failed"},
		{"POST", "/api/groups/" + jid + "/participants", map[string]any{"deviceId": sb.dev, "action": "add"}, 400, "validation_failed"},
		{"POST", "/api/groups/120363999999999999/participants", map[string]any{"deviceId": sb.dev, "action": "add", "participants": []string{memberPhone}}, 404, "group_not_found"},
		{"GET", "/api/groups/not-a-group@s.whatsapp.net/invite-link?deviceId=" + itoa(sb.dev), nil, 404, "group_not_found"},
	} {
		sb.ts.do(tt.method, tt.path, tt.body, sb.admin).fails(t, tt.status, tt.code)
	}
	// Only admins manage members: the member, re-added as a plain member, may not.
	sb.ts.do("POST", "/api/groups/"+jid+"/participants", map[string]any{"deviceId": sb.dev, "action": "add", "participants": []string{memberPhone}}, sb.admin).ok(t, http.StatusOK, nil)
	member.ts.do("GET", "/api/groups/"+jid+"/invite-link?deviceId="+itoa(member.dev), nil, member.admin).fails(t, http.StatusForbidden, "not_group_admin")
}
