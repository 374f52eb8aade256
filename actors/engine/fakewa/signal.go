package fakewa

import (
	"context"
	"sync"

	"go.mau.fi/libsignal/ecc"
	groupRecord "go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/state/record"
	"go.mau.fi/libsignal/state/store"
	wastore "go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/util/keys"
)

// signalStore is a simulated phone's Signal state, in memory: what the
// real phone keeps on its disk. Records are stored serialized, as a real
// store does, so a failed decryption leaves no half-changed session.
type signalStore struct {
	identity *keys.KeyPair
	regID    uint32
	signed   *keys.PreKey

	mu         sync.Mutex
	preKeys    map[uint32]*keys.PreKey
	nextPreKey uint32
	sessions   map[string][]byte
	senderKeys map[string][]byte
}

var _ store.SignalProtocol = (*signalStore)(nil)

var serializer = wastore.SignalProtobufSerializer

func newSignalStore(identityKey *keys.KeyPair, regID uint32) *signalStore {
	return &signalStore{
		identity:   identityKey,
		regID:      regID,
		signed:     identityKey.CreateSignedPreKey(1),
		preKeys:    make(map[uint32]*keys.PreKey),
		nextPreKey: 1,
		sessions:   make(map[string][]byte),
		senderKeys: make(map[string][]byte),
	}
}

// newPreKey makes a one-time prekey for a bundle someone fetches.
func (s *signalStore) newPreKey() *keys.PreKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := keys.NewPreKey(s.nextPreKey)
	s.preKeys[k.KeyID] = k
	s.nextPreKey++
	return k
}

func (s *signalStore) GetIdentityKeyPair() *identity.KeyPair {
	return identity.NewKeyPair(identity.NewKey(ecc.NewDjbECPublicKey(*s.identity.Pub)), ecc.NewDjbECPrivateKey(*s.identity.Priv))
}

func (s *signalStore) GetLocalRegistrationID() uint32 { return s.regID }

func (s *signalStore) SaveIdentity(context.Context, *protocol.SignalAddress, *identity.Key) error {
	return nil
}

// IsTrustedIdentity trusts everyone: the fake's phones never refuse a key.
func (s *signalStore) IsTrustedIdentity(context.Context, *protocol.SignalAddress, *identity.Key) (bool, error) {
	return true, nil
}

func (s *signalStore) LoadPreKey(_ context.Context, id uint32) (*record.PreKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.preKeys[id]
	if !ok {
		return nil, nil
	}
	return record.NewPreKey(id, ecc.NewECKeyPair(ecc.NewDjbECPublicKey(*k.Pub), ecc.NewDjbECPrivateKey(*k.Priv)), nil), nil
}

func (s *signalStore) StorePreKey(_ context.Context, id uint32, r *record.PreKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.preKeys[id] = &keys.PreKey{KeyPair: *keys.NewKeyPairFromPrivateKey(r.KeyPair().PrivateKey().Serialize()), KeyID: id}
	return nil
}

func (s *signalStore) ContainsPreKey(_ context.Context, id uint32) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.preKeys[id]
	return ok, nil
}

func (s *signalStore) RemovePreKey(_ context.Context, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.preKeys, id)
	return nil
}

func (s *signalStore) LoadSession(_ context.Context, addr *protocol.SignalAddress) (*record.Session, error) {
	s.mu.Lock()
	raw, ok := s.sessions[addr.String()]
	s.mu.Unlock()
	if !ok {
		return record.NewSession(serializer.Session, serializer.State), nil
	}
	return record.NewSessionFromBytes(raw, serializer.Session, serializer.State)
}

func (s *signalStore) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	return nil, nil
}

func (s *signalStore) StoreSession(_ context.Context, addr *protocol.SignalAddress, r *record.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[addr.String()] = r.Serialize()
	return nil
}

func (s *signalStore) ContainsSession(_ context.Context, addr *protocol.SignalAddress) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.sessions[addr.String()]
	return ok, nil
}

func (s *signalStore) DeleteSession(_ context.Context, addr *protocol.SignalAddress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, addr.String())
	return nil
}

func (s *signalStore) DeleteAllSessions(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions = make(map[string][]byte)
	return nil
}

func (s *signalStore) LoadSignedPreKey(_ context.Context, id uint32) (*record.SignedPreKey, error) {
	if id != s.signed.KeyID {
		return nil, nil
	}
	return record.NewSignedPreKey(id, 0, ecc.NewECKeyPair(ecc.NewDjbECPublicKey(*s.signed.Pub), ecc.NewDjbECPrivateKey(*s.signed.Priv)), *s.signed.Signature, nil), nil
}

func (s *signalStore) LoadSignedPreKeys(ctx context.Context) ([]*record.SignedPreKey, error) {
	k, err := s.LoadSignedPreKey(ctx, s.signed.KeyID)
	return []*record.SignedPreKey{k}, err
}

// The signed prekey never rotates in the fake.
func (s *signalStore) StoreSignedPreKey(context.Context, uint32, *record.SignedPreKey) error {
	return nil
}

func (s *signalStore) ContainsSignedPreKey(_ context.Context, id uint32) (bool, error) {
	return id == s.signed.KeyID, nil
}

func (s *signalStore) RemoveSignedPreKey(context.Context, uint32) error { return nil }

func (s *signalStore) StoreSenderKey(_ context.Context, name *protocol.SenderKeyName, r *groupRecord.SenderKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.senderKeys[name.GroupID()+"\x00"+name.Sender().String()] = r.Serialize()
	return nil
}

func (s *signalStore) LoadSenderKey(_ context.Context, name *protocol.SenderKeyName) (*groupRecord.SenderKey, error) {
	s.mu.Lock()
	raw, ok := s.senderKeys[name.GroupID()+"\x00"+name.Sender().String()]
	s.mu.Unlock()
	if !ok {
		return groupRecord.NewSenderKey(serializer.SenderKeyRecord, serializer.SenderKeyState), nil
	}
	return groupRecord.NewSenderKeyFromBytes(raw, serializer.SenderKeyRecord, serializer.SenderKeyState)
}
