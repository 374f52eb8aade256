package wastore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// testStore returns the stores of a paired device in a fresh database.
func testStore(t *testing.T) (*Store, *store.Device, *Container) {
	t.Helper()
	c := newContainer(t, openDB(t, t.TempDir()))
	d := pairedDevice(t, c, 1, "15550000001")
	return d.Sessions.(*Store), d, c
}

func key32(b byte) [32]byte { return [32]byte(bytes.Repeat([]byte{b}, 32)) }

func TestIdentityStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	if ok, err := s.IsTrustedIdentity(ctx, "1555:0", key32(1)); err != nil || !ok {
		t.Fatalf("unknown identity trusted = %v, %v; want trust on first use", ok, err)
	}
	for _, a := range []string{"1555:0", "1555:2", "15551:0"} {
		if err := s.PutIdentity(ctx, a, key32(1)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		addr string
		key  [32]byte
		want bool
	}{
		{"1555:0", key32(1), true},
		{"1555:0", key32(2), false},
		{"1555:2", key32(1), true},
	}
	for _, tc := range tests {
		if ok, err := s.IsTrustedIdentity(ctx, tc.addr, tc.key); err != nil || ok != tc.want {
			t.Errorf("IsTrustedIdentity(%s, %x) = %v, %v; want %v", tc.addr, tc.key[0], ok, err, tc.want)
		}
	}
	if err := s.DeleteIdentity(ctx, "1555:2"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsTrustedIdentity(ctx, "1555:2", key32(9)); !ok {
		t.Error("deleted identity still checked")
	}
	if err := s.DeleteAllIdentities(ctx, "1555"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsTrustedIdentity(ctx, "1555:0", key32(9)); !ok {
		t.Error("DeleteAllIdentities kept 1555:0")
	}
	if ok, _ := s.IsTrustedIdentity(ctx, "15551:0", key32(9)); ok {
		t.Error("DeleteAllIdentities(1555) deleted 15551:0")
	}
}

func TestSessionStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	if v, err := s.GetSession(ctx, "1555:0"); err != nil || v != nil {
		t.Fatalf("GetSession of none = %q, %v", v, err)
	}
	if err := s.PutManySessions(ctx, map[string][]byte{"1555:0": []byte("a"), "1555:1": []byte("b"), "15551:0": []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if has, err := s.HasSession(ctx, "1555:1"); err != nil || !has {
		t.Errorf("HasSession = %v, %v", has, err)
	}
	got, err := s.GetManySessions(ctx, []string{"1555:0", "1555:9"})
	if err != nil || len(got) != 2 || string(got["1555:0"]) != "a" || got["1555:9"] != nil {
		t.Errorf("GetManySessions = %q, %v", got, err)
	}
	if err := s.PutSession(ctx, "1555:0", []byte("a2")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetSession(ctx, "1555:0"); string(v) != "a2" {
		t.Errorf("replaced session = %q", v)
	}
	if err := s.DeleteSession(ctx, "1555:1"); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasSession(ctx, "1555:1"); has {
		t.Error("deleted session still there")
	}
	if err := s.DeleteAllSessions(ctx, "1555"); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasSession(ctx, "1555:0"); has {
		t.Error("DeleteAllSessions kept 1555:0")
	}
	if has, _ := s.HasSession(ctx, "15551:0"); !has {
		t.Error("DeleteAllSessions(1555) deleted 15551:0")
	}
}

func TestMigratePNToLID(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	pn := types.NewJID("15550009999", types.DefaultUserServer)
	lid := types.NewJID("88880009999", types.HiddenUserServer)
	for _, a := range []string{"15550009999:0", "15550009999:4", "155500099990:0"} {
		if err := s.PutSession(ctx, a, []byte("s"+a)); err != nil {
			t.Fatal(err)
		}
		if err := s.PutIdentity(ctx, a, key32(7)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutSenderKey(ctx, "123@g.us", "15550009999:0", []byte("sk")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSenderKey(ctx, "123@g.us", "155500099990:0", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if err := s.MigratePNToLID(ctx, pn, lid); err != nil {
		t.Fatal(err)
	}
	lidUser := lid.SignalAddressUser() // LID addresses carry their agent: "88880009999_1"
	for _, dev := range []string{"0", "4"} {
		if v, _ := s.GetSession(ctx, lidUser+":"+dev); string(v) != "s15550009999:"+dev {
			t.Errorf("migrated session %s = %q", dev, v)
		}
		if has, _ := s.HasSession(ctx, "15550009999:"+dev); has {
			t.Errorf("session %s left under the phone number", dev)
		}
		if ok, _ := s.IsTrustedIdentity(ctx, lidUser+":"+dev, key32(1)); ok {
			t.Errorf("identity %s not migrated", dev)
		}
	}
	if v, _ := s.GetSenderKey(ctx, "123@g.us", lidUser+":0"); string(v) != "sk" {
		t.Errorf("migrated sender key = %q", v)
	}
	if v, _ := s.GetSenderKey(ctx, "123@g.us", "15550009999:0"); v != nil {
		t.Errorf("sender key left under the phone number: %q", v)
	}
	if v, _ := s.GetSession(ctx, "155500099990:0"); string(v) != "s155500099990:0" {
		t.Errorf("another user's session moved: %q", v)
	}
	if v, _ := s.GetSenderKey(ctx, "123@g.us", "155500099990:0"); string(v) != "other" {
		t.Errorf("another user's sender key moved: %q", v)
	}
}

func TestPreKeyStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	first, err := s.GetOrGenPreKeys(ctx, 5)
	if err != nil || len(first) != 5 {
		t.Fatalf("GetOrGenPreKeys = %d keys, %v", len(first), err)
	}
	for i, k := range first {
		if k.KeyID != uint32(i+1) || k.Priv == nil || k.Pub == nil {
			t.Errorf("key %d = id %d", i, k.KeyID)
		}
	}
	// Not yet uploaded: the same keys again.
	again, err := s.GetOrGenPreKeys(ctx, 3)
	if err != nil || len(again) != 3 || again[2].KeyID != 3 || *again[2].Priv != *first[2].Priv {
		t.Fatalf("second GetOrGenPreKeys = %v, %v", again, err)
	}
	if n, err := s.UploadedPreKeyCount(ctx); err != nil || n != 0 {
		t.Errorf("uploaded = %d, %v", n, err)
	}
	if err := s.MarkPreKeysAsUploaded(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.UploadedPreKeyCount(ctx); n != 3 {
		t.Errorf("uploaded after mark = %d, want 3", n)
	}
	// Two left unuploaded (4, 5); three new ones follow.
	more, err := s.GetOrGenPreKeys(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint32
	for _, k := range more {
		got = append(got, k.KeyID)
	}
	if !slices.Equal(got, []uint32{4, 5, 6, 7, 8}) {
		t.Errorf("ids after mark = %v", got)
	}
	one, err := s.GenOnePreKey(ctx)
	if err != nil || one.KeyID != 9 {
		t.Fatalf("GenOnePreKey = %v, %v", one, err)
	}
	if n, _ := s.UploadedPreKeyCount(ctx); n != 4 {
		t.Errorf("GenOnePreKey not marked uploaded: count %d", n)
	}
	k, err := s.GetPreKey(ctx, 2)
	if err != nil || k == nil || *k.Priv != *first[1].Priv || *k.Pub != *first[1].Pub {
		t.Errorf("GetPreKey(2) = %v, %v", k, err)
	}
	if err := s.RemovePreKey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if k, err := s.GetPreKey(ctx, 2); err != nil || k != nil {
		t.Errorf("removed prekey = %v, %v", k, err)
	}
	if k, err := s.GetPreKey(ctx, 999); err != nil || k != nil {
		t.Errorf("unknown prekey = %v, %v", k, err)
	}
	// Ids keep growing past removed keys.
	if k, _ := s.GenOnePreKey(ctx); k.KeyID != 10 {
		t.Errorf("next id = %d, want 10", k.KeyID)
	}
}

func TestPreKeysConcurrent(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	var wg sync.WaitGroup
	ids := make(chan uint32, 40)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				k, err := s.GenOnePreKey(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				ids <- k.KeyID
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[uint32]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("prekey id %d handed out twice", id)
		}
		seen[id] = true
	}
	if n, _ := s.UploadedPreKeyCount(ctx); n != 40 {
		t.Errorf("count = %d, want 40", n)
	}
}

func TestSenderKeyStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	if v, err := s.GetSenderKey(ctx, "g@g.us", "1555:0"); err != nil || v != nil {
		t.Fatalf("unknown sender key = %q, %v", v, err)
	}
	if err := s.PutSenderKey(ctx, "g@g.us", "1555:0", []byte("k1")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSenderKey(ctx, "g@g.us", "1555:0", []byte("k2")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSenderKey(ctx, "h@g.us", "1555:0", []byte("other group")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetSenderKey(ctx, "g@g.us", "1555:0"); string(v) != "k2" {
		t.Errorf("sender key = %q", v)
	}
}

func TestAppStateSyncKeys(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	if id, err := s.GetLatestAppStateSyncKeyID(ctx); err != nil || id != nil {
		t.Fatalf("latest of none = %x, %v", id, err)
	}
	put := func(id string, ts int64, data string) {
		t.Helper()
		if err := s.PutAppStateSyncKey(ctx, []byte(id), store.AppStateSyncKey{Data: []byte(data), Timestamp: ts, Fingerprint: []byte("fp" + id)}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", 10, "a1")
	put("b", 30, "b1")
	put("c", 20, "c1")
	put("a", 5, "older") // an older key does not replace a newer one
	k, err := s.GetAppStateSyncKey(ctx, []byte("a"))
	if err != nil || k == nil || string(k.Data) != "a1" || k.Timestamp != 10 || string(k.Fingerprint) != "fpa" {
		t.Errorf("key a = %+v, %v", k, err)
	}
	put("a", 40, "a2")
	if k, _ := s.GetAppStateSyncKey(ctx, []byte("a")); string(k.Data) != "a2" {
		t.Errorf("newer key not stored: %q", k.Data)
	}
	if id, _ := s.GetLatestAppStateSyncKeyID(ctx); string(id) != "a" {
		t.Errorf("latest = %q, want a", id)
	}
	if k, err := s.GetAppStateSyncKey(ctx, []byte("zz")); err != nil || k != nil {
		t.Errorf("unknown key = %v, %v", k, err)
	}
}

func TestAppStateVersionsAndMACs(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	if v, h, err := s.GetAppStateVersion(ctx, "regular"); err != nil || v != 0 || h != [128]byte{} {
		t.Fatalf("version of none = %d, %v", v, err)
	}
	var hash [128]byte
	copy(hash[:], "hash")
	if err := s.PutAppStateVersion(ctx, "regular", 7, hash); err != nil {
		t.Fatal(err)
	}
	if v, h, err := s.GetAppStateVersion(ctx, "regular"); err != nil || v != 7 || h != hash {
		t.Errorf("version = %d, %q, %v", v, h[:4], err)
	}
	idx1, idx2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if err := s.PutAppStateMutationMACs(ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: idx1, ValueMAC: []byte("v1")}, {IndexMAC: idx2, ValueMAC: []byte("w1")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAppStateMutationMACs(ctx, "regular", 2, []store.AppStateMutationMAC{{IndexMAC: idx1, ValueMAC: []byte("v2")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAppStateMutationMACs(ctx, "regular_low", 9, []store.AppStateMutationMAC{{IndexMAC: idx1, ValueMAC: []byte("other")}}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetAppStateMutationMAC(ctx, "regular", idx1); err != nil || string(v) != "v2" {
		t.Errorf("latest MAC of idx1 = %q, %v; want v2", v, err)
	}
	if v, _ := s.GetAppStateMutationMAC(ctx, "regular", idx1[:16]); v != nil {
		t.Errorf("a shorter index MAC matched: %q", v)
	}
	if err := s.DeleteAppStateMutationMACs(ctx, "regular", [][]byte{idx1}); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetAppStateMutationMAC(ctx, "regular", idx1); v != nil {
		t.Errorf("deleted MAC = %q", v)
	}
	if v, _ := s.GetAppStateMutationMAC(ctx, "regular", idx2); string(v) != "w1" {
		t.Errorf("idx2 = %q", v)
	}
	// Deleting the version drops its MACs, not another collection's.
	if err := s.DeleteAppStateVersion(ctx, "regular"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := s.GetAppStateVersion(ctx, "regular"); v != 0 {
		t.Errorf("version after delete = %d", v)
	}
	if v, _ := s.GetAppStateMutationMAC(ctx, "regular", idx2); v != nil {
		t.Errorf("MAC survived its version: %q", v)
	}
	if v, _ := s.GetAppStateMutationMAC(ctx, "regular_low", idx1); string(v) != "other" {
		t.Errorf("other collection's MAC = %q", v)
	}
}

func TestContactStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	alice := types.NewJID("15550009999", types.DefaultUserServer)
	bob := types.NewJID("15550008888", types.DefaultUserServer)
	if info, err := s.GetContact(ctx, alice); err != nil || info.Found {
		t.Fatalf("unknown contact = %+v, %v", info, err)
	}
	tests := []struct {
		name        string
		wantChanged bool
		wantPrev    string
	}{
		{"Alice", true, ""},
		{"Alice", false, ""},
		{"Alicia", true, "Alice"},
	}
	for _, tc := range tests {
		changed, prev, err := s.PutPushName(ctx, alice, tc.name)
		if err != nil || changed != tc.wantChanged || prev != tc.wantPrev {
			t.Errorf("PutPushName(%s) = %v, %q, %v; want %v, %q", tc.name, changed, prev, err, tc.wantChanged, tc.wantPrev)
		}
	}
	if changed, prev, err := s.PutBusinessName(ctx, alice, "Acme"); err != nil || !changed || prev != "" {
		t.Errorf("PutBusinessName = %v, %q, %v", changed, prev, err)
	}
	if err := s.PutContactName(ctx, alice, "Ali", "Alice Smith"); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAllContactNames(ctx, []store.ContactEntry{{JID: bob, FirstName: "B", FullName: "Bob"}, {JID: bob, FirstName: "Bob", FullName: "Bob Jones"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutManyRedactedPhones(ctx, []store.RedactedPhoneEntry{{JID: bob, RedactedPhone: "+1 555 ••• 88"}}); err != nil {
		t.Fatal(err)
	}
	want := types.ContactInfo{Found: true, FirstName: "Ali", FullName: "Alice Smith", PushName: "Alicia", BusinessName: "Acme"}
	if info, _ := s.GetContact(ctx, alice); info != want {
		t.Errorf("alice = %+v, want %+v", info, want)
	}
	all, err := s.GetAllContacts(ctx)
	wantBob := types.ContactInfo{Found: true, FirstName: "Bob", FullName: "Bob Jones", RedactedPhone: "+1 555 ••• 88"}
	if err != nil || len(all) != 2 || all[alice] != want || all[bob] != wantBob {
		t.Errorf("GetAllContacts = %+v, %v", all, err)
	}
}

func TestChatSettingsStore(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	chat := types.NewJID("123", types.GroupServer)
	if cs, err := s.GetChatSettings(ctx, chat); err != nil || cs.Found {
		t.Fatalf("unknown chat = %+v, %v", cs, err)
	}
	until := time.Unix(2_000_000_000, 0)
	steps := []struct {
		do   func() error
		want types.LocalChatSettings
	}{
		{func() error { return s.PutPinned(ctx, chat, true) }, types.LocalChatSettings{Found: true, Pinned: true}},
		{func() error { return s.PutMutedUntil(ctx, chat, until) }, types.LocalChatSettings{Found: true, Pinned: true, MutedUntil: until}},
		{func() error { return s.PutArchived(ctx, chat, true) }, types.LocalChatSettings{Found: true, Pinned: true, Archived: true, MutedUntil: until}},
		{func() error { return s.PutMutedUntil(ctx, chat, store.MutedForever) }, types.LocalChatSettings{Found: true, Pinned: true, Archived: true, MutedUntil: store.MutedForever}},
		{func() error { return s.PutMutedUntil(ctx, chat, time.Time{}) }, types.LocalChatSettings{Found: true, Pinned: true, Archived: true}},
	}
	for i, st := range steps {
		if err := st.do(); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetChatSettings(ctx, chat)
		if err != nil || got.Found != st.want.Found || got.Pinned != st.want.Pinned || got.Archived != st.want.Archived || !got.MutedUntil.Equal(st.want.MutedUntil) {
			t.Errorf("step %d: %+v, %v; want %+v", i, got, err, st.want)
		}
	}
}

func TestMessageSecretsFollowTheLIDMap(t *testing.T) {
	ctx := context.Background()
	s, _, c := testStore(t)
	pn := types.NewJID("15550009999", types.DefaultUserServer)
	lid := types.NewJID("88880009999", types.HiddenUserServer)
	chat := types.NewJID("123", types.GroupServer)
	if err := s.PutMessageSecret(ctx, chat, types.NewADJID(pn.User, 0, 2), "M1", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMessageSecret(ctx, chat, pn, "M1", []byte("ignored")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMessageSecrets(ctx, []store.MessageSecretInsert{{Chat: pn, Sender: pn, ID: "M2", Secret: []byte("dm")}}); err != nil {
		t.Fatal(err)
	}
	if v, sender, err := s.GetMessageSecret(ctx, chat, pn, "M1"); err != nil || string(v) != "secret" || sender != pn {
		t.Errorf("secret M1 = %q from %v, %v", v, sender, err)
	}
	// Asked by LID: found only once the map knows the LID.
	if v, _, _ := s.GetMessageSecret(ctx, chat, lid, "M1"); v != nil {
		t.Errorf("found by an unmapped LID: %q", v)
	}
	if err := c.LIDs().PutLIDMapping(ctx, lid, pn); err != nil {
		t.Fatal(err)
	}
	if v, sender, err := s.GetMessageSecret(ctx, chat, lid, "M1"); err != nil || string(v) != "secret" || sender != pn {
		t.Errorf("secret M1 by LID = %q from %v, %v", v, sender, err)
	}
	if v, _, err := s.GetMessageSecret(ctx, lid, lid, "M2"); err != nil || string(v) != "dm" {
		t.Errorf("secret M2 by LID chat = %q, %v", v, err)
	}
	if v, sender, err := s.GetMessageSecret(ctx, chat, pn, "nope"); err != nil || v != nil || !sender.IsEmpty() {
		t.Errorf("unknown secret = %q, %v, %v", v, sender, err)
	}
}

func TestPrivacyTokens(t *testing.T) {
	ctx := context.Background()
	s, _, c := testStore(t)
	pn := types.NewJID("15550009999", types.DefaultUserServer)
	lid := types.NewJID("88880009999", types.HiddenUserServer)
	if tok, err := s.GetPrivacyToken(ctx, pn); err != nil || tok != nil {
		t.Fatalf("no token = %v, %v", tok, err)
	}
	if err := c.LIDs().PutLIDMapping(ctx, lid, pn); err != nil {
		t.Fatal(err)
	}
	old, newer := time.Unix(1000, 0), time.Unix(2000, 0)
	if err := s.PutPrivacyTokens(ctx, store.PrivacyToken{User: types.NewADJID(pn.User, 0, 3), Token: []byte("pn-token"), Timestamp: old},
		store.PrivacyToken{User: lid, Token: []byte("lid-token"), Timestamp: newer}); err != nil {
		t.Fatal(err)
	}
	tok, err := s.GetPrivacyToken(ctx, pn)
	if err != nil || tok == nil || string(tok.Token) != "lid-token" || !tok.Timestamp.Equal(newer) || tok.User != pn {
		t.Errorf("token = %+v, %v; want the newer one, under the asked JID", tok, err)
	}
	if err := s.PutPrivacyTokens(ctx, store.PrivacyToken{User: pn, Token: []byte("pn-new"), Timestamp: time.Unix(3000, 0)}); err != nil {
		t.Fatal(err)
	}
	if tok, _ := s.GetPrivacyToken(ctx, lid); string(tok.Token) != "pn-new" {
		t.Errorf("token by LID = %q", tok.Token)
	}
}

func TestEventBuffer(t *testing.T) {
	ctx := context.Background()
	s, _, _ := testStore(t)
	h := key32(5)
	if ev, err := s.GetBufferedEvent(ctx, h); err != nil || ev != nil {
		t.Fatalf("unknown event = %v, %v", ev, err)
	}
	server := time.Unix(1_700_000_000, 0)
	if err := s.PutBufferedEvent(ctx, h, []byte("plain"), server); err != nil {
		t.Fatal(err)
	}
	ev, err := s.GetBufferedEvent(ctx, h)
	if err != nil || ev == nil || string(ev.Plaintext) != "plain" || !ev.ServerTime.Equal(server) || time.Since(ev.InsertTime) > time.Hour {
		t.Fatalf("buffered event = %+v, %v", ev, err)
	}
	if err := s.ClearBufferedEventPlaintext(ctx, h); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.GetBufferedEvent(ctx, h); ev == nil || ev.Plaintext != nil {
		t.Errorf("after clear = %+v; want the entry without plaintext", ev)
	}
	if err := s.ClearBufferedEventPlaintext(ctx, key32(6)); err != nil {
		t.Errorf("clearing an unknown event: %v", err)
	}
	// An empty plaintext is a plaintext, not a cleared one.
	if err := s.PutBufferedEvent(ctx, key32(7), []byte{}, server); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.GetBufferedEvent(ctx, key32(7)); ev.Plaintext == nil {
		t.Error("empty plaintext read back as cleared")
	}

	// DeleteOldBufferedHashes drops only entries past the retention.
	oldRec := bufferedEventRecord{ServerTime: 1, InsertTimeMS: time.Now().Add(-bufferRetention - time.Hour).UnixMilli()}
	if err := s.c.putRecord(ctx, eventBufferKey(s.id, key32(8)), &oldRec); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOldBufferedHashes(ctx); err != nil {
		t.Fatal(err)
	}
	if ev, _ := s.GetBufferedEvent(ctx, key32(8)); ev != nil {
		t.Error("old entry kept")
	}
	if ev, _ := s.GetBufferedEvent(ctx, h); ev == nil {
		t.Error("recent entry deleted")
	}
}

func TestDecryptionTxnIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, d, _ := testStore(t)
	if _, err := s.GetOrGenPreKeys(ctx, 2); err != nil {
		t.Fatal(err)
	}
	h := key32(9)
	failed := errors.New("decrypt failed")

	// What a decryption does: update the session, consume a prekey, buffer
	// the plaintext. Inside, reads see the transaction's writes; outside,
	// nothing shows until it commits.
	decrypt := func(ctx context.Context, fail bool) error {
		if err := d.Sessions.PutSession(ctx, "1555:0", []byte("new session")); err != nil {
			return err
		}
		if err := d.PreKeys.RemovePreKey(ctx, 1); err != nil {
			return err
		}
		if v, _ := d.Sessions.GetSession(ctx, "1555:0"); string(v) != "new session" {
			t.Errorf("transaction does not read its own write: %q", v)
		}
		if v, _ := d.Sessions.GetSession(context.Background(), "1555:0"); v != nil {
			t.Errorf("uncommitted session visible outside: %q", v)
		}
		if fail {
			return failed
		}
		return d.EventBuffer.PutBufferedEvent(ctx, h, []byte("plain"), time.Now())
	}

	if err := d.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) error { return decrypt(ctx, true) }); !errors.Is(err, failed) {
		t.Fatalf("failed txn = %v", err)
	}
	if v, _ := s.GetSession(ctx, "1555:0"); v != nil {
		t.Error("failed transaction stored the session")
	}
	if k, _ := s.GetPreKey(ctx, 1); k == nil {
		t.Error("failed transaction consumed the prekey")
	}

	if err := d.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) error { return decrypt(ctx, false) }); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetSession(ctx, "1555:0"); string(v) != "new session" {
		t.Errorf("committed session = %q", v)
	}
	if k, _ := s.GetPreKey(ctx, 1); k != nil {
		t.Error("committed transaction kept the prekey")
	}
	if ev, _ := s.GetBufferedEvent(ctx, h); ev == nil || string(ev.Plaintext) != "plain" {
		t.Errorf("buffered event = %+v", ev)
	}
}

func TestLIDMap(t *testing.T) {
	ctx := context.Background()
	_, _, c := testStore(t)
	m := c.LIDs()
	pn := func(u string) types.JID { return types.NewJID(u, types.DefaultUserServer) }
	lid := func(u string) types.JID { return types.NewJID(u, types.HiddenUserServer) }

	if got, err := m.GetLIDForPN(ctx, pn("1")); err != nil || !got.IsEmpty() {
		t.Fatalf("unknown = %v, %v", got, err)
	}
	if err := m.PutLIDMapping(ctx, pn("1"), lid("1")); !errors.Is(err, ErrInvalid) {
		t.Errorf("swapped mapping = %v, want ErrInvalid", err)
	}
	if _, err := m.GetLIDForPN(ctx, lid("1")); !errors.Is(err, ErrInvalid) {
		t.Errorf("GetLIDForPN(LID) = %v", err)
	}
	if err := m.PutLIDMapping(ctx, lid("100"), pn("1")); err != nil {
		t.Fatal(err)
	}
	// Device parts follow the asked JID.
	if got, _ := m.GetLIDForPN(ctx, types.NewADJID("1", 0, 4)); got != (types.JID{User: "100", Device: 4, Server: types.HiddenUserServer}) {
		t.Errorf("LID of 1:4 = %v", got)
	}
	// A phone number gets a new LID: the old LID no longer maps back.
	if err := m.PutManyLIDMappings(ctx, []store.LIDMapping{{LID: lid("101"), PN: pn("1")}, {LID: lid("200"), PN: pn("2")}, {LID: pn("3"), PN: lid("3")}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		get  func() (types.JID, error)
		want types.JID
	}{
		{func() (types.JID, error) { return m.GetLIDForPN(ctx, pn("1")) }, lid("101")},
		{func() (types.JID, error) { return m.GetPNForLID(ctx, lid("101")) }, pn("1")},
		{func() (types.JID, error) { return m.GetPNForLID(ctx, lid("100")) }, types.JID{}},
		{func() (types.JID, error) { return m.GetLIDForPN(ctx, pn("2")) }, lid("200")},
		{func() (types.JID, error) { return m.GetLIDForPN(ctx, pn("3")) }, types.JID{}},
	}
	for i, tc := range tests {
		if got, err := tc.get(); err != nil || got != tc.want {
			t.Errorf("lookup %d = %v, %v; want %v", i, got, err, tc.want)
		}
	}
	// A LID moves to another phone number: the first number loses it.
	if err := m.PutLIDMapping(ctx, lid("101"), pn("9")); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.GetLIDForPN(ctx, pn("1")); !got.IsEmpty() {
		t.Errorf("old number still maps to %v", got)
	}
	many, err := m.GetManyLIDsForPNs(ctx, []types.JID{pn("9"), pn("2"), pn("404"), lid("7")})
	if err != nil || len(many) != 2 || many[pn("9")] != lid("101") || many[pn("2")] != lid("200") {
		t.Errorf("GetManyLIDsForPNs = %v, %v", many, err)
	}
	if fmt.Sprint(m.GetManyLIDsForPNs(ctx, nil)) != "map[] <nil>" {
		t.Error("GetManyLIDsForPNs(nil) not empty")
	}
}
