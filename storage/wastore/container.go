package wastore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"

	"github.com/google/uuid"
	"go.mau.fi/util/random"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"

	"github.com/wa-gateway/wa-gateway/storage"
)

// namespace is the storage prefix of everything this package stores.
const namespace = "wa/"

// schemaVersion is the format of this package's keys and values. Open
// refuses a store written with a newer one.
const schemaVersion uint64 = 1

// Container is whatsmeow's device container on the gateway's store: it
// keeps one whatsmeow device per gateway device. Safe for concurrent use.
type Container struct {
	ns   *storage.Namespace
	log  *slog.Logger
	lids *LIDMap
}

// New opens the whatsmeow store in db, creating its schema version on
// first use. log receives whatsmeow's store logs (nil discards).
func New(db *storage.DB, log *slog.Logger) (*Container, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns, err := db.Namespace(namespace)
	if err != nil {
		return nil, err
	}
	c := &Container{ns: ns, log: log}
	c.lids = &LIDMap{c: c}
	if err := c.checkSchema(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Container) checkSchema() error {
	v, err := c.ns.Get(schemaKey())
	if errors.Is(err, storage.ErrNotFound) {
		if err := c.ns.Set(schemaKey(), binary.BigEndian.AppendUint64(nil, schemaVersion)); err != nil {
			return fmt.Errorf("write schema version: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if len(v) != 8 {
		return fmt.Errorf("%w: schema version of %d bytes", ErrCorrupt, len(v))
	}
	if got := binary.BigEndian.Uint64(v); got > schemaVersion {
		return fmt.Errorf("%w: version %d, this build knows %d", ErrFormatTooNew, got, schemaVersion)
	}
	return nil
}

// LIDs is the global LID ↔ phone number map every device shares.
func (c *Container) LIDs() *LIDMap { return c.lids }

// Device returns gateway device deviceID's whatsmeow device: the stored
// one when the device is paired, otherwise fresh keys that are stored when
// pairing succeeds (whatsmeow calls Save then). The caller owns it.
func (c *Container) Device(ctx context.Context, deviceID int64) (*store.Device, error) {
	var rec deviceRecord
	found, err := c.getRecord(ctx, deviceRecordKey(deviceID), &rec)
	if err != nil {
		return nil, fmt.Errorf("load device %d: %w", deviceID, err)
	}
	if !found {
		return c.newDevice(deviceID), nil
	}
	d, err := rec.device()
	if err != nil {
		return nil, fmt.Errorf("load device %d: %w", deviceID, err)
	}
	c.attach(deviceID, d)
	return d, nil
}

// newDevice creates keys the way whatsmeow's SQL container does; nothing
// is stored before pairing.
func (c *Container) newDevice(deviceID int64) *store.Device {
	d := &store.Device{
		Log:            Logger(c.log, "Device"),
		Container:      &deviceContainer{c: c, id: deviceID},
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    keys.NewKeyPair(),
		RegistrationID: mathrand.Uint32(),
		AdvSecretKey:   random.Bytes(32),
	}
	d.SignedPreKey = d.IdentityKey.CreateSignedPreKey(1)
	return d
}

// attach wires a device's stores, as whatsmeow's containers do once a
// device is stored.
func (c *Container) attach(deviceID int64, d *store.Device) {
	s := &Store{c: c, id: deviceID}
	d.Log = Logger(c.log.With("device", deviceID), "Device")
	d.Identities, d.Sessions, d.PreKeys, d.SenderKeys = s, s, s, s
	d.AppStateKeys, d.AppState, d.Contacts, d.ChatSettings = s, s, s, s
	d.MsgSecrets, d.PrivacyTokens, d.EventBuffer = s, s, s
	d.LIDs = c.lids
	d.Container = &deviceContainer{c: c, id: deviceID}
	d.Initialized = true
}

// Forget deletes everything stored for a gateway device, in one synced
// batch. Forgetting a device with nothing stored is not an error.
func (c *Container) Forget(ctx context.Context, deviceID int64) error {
	err := c.inTxn(ctx, func(ctx context.Context) error {
		if err := c.rw(ctx).Delete(deviceJIDKey(deviceID)); err != nil {
			return err
		}
		return c.rw(ctx).DeletePrefix(devicePrefix(deviceID))
	})
	if err != nil {
		return fmt.Errorf("forget device %d: %w", deviceID, err)
	}
	return nil
}

// Devices returns the JID of every paired gateway device, by device id.
func (c *Container) Devices(ctx context.Context) (map[int64]types.JID, error) {
	out := make(map[int64]types.JID)
	err := c.rw(ctx).Scan(deviceJIDPrefix(), false, func(k, v []byte) (bool, error) {
		id, err := parseDeviceJIDKey(k)
		if err != nil {
			return false, err
		}
		jid, err := types.ParseJID(string(v))
		if err != nil {
			return false, fmt.Errorf("%w: JID of device %d: %v", ErrCorrupt, id, err)
		}
		out[id] = jid
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return out, nil
}

// WAVersion returns the WhatsApp Web version learned from WhatsApp and
// stored with PutWAVersion; zero when none is stored.
func (c *Container) WAVersion(ctx context.Context) (store.WAVersionContainer, error) {
	var v store.WAVersionContainer
	data, err := c.get(ctx, waVersionKey())
	if err != nil || data == nil {
		return v, err
	}
	if len(data) != 12 {
		return v, fmt.Errorf("%w: WhatsApp version of %d bytes", ErrCorrupt, len(data))
	}
	for i := range v {
		v[i] = binary.BigEndian.Uint32(data[4*i:])
	}
	return v, nil
}

// PutWAVersion stores the WhatsApp Web version to use from now on.
func (c *Container) PutWAVersion(ctx context.Context, v store.WAVersionContainer) error {
	data := make([]byte, 0, 12)
	for _, part := range v {
		data = binary.BigEndian.AppendUint32(data, part)
	}
	if err := c.rw(ctx).Set(waVersionKey(), data); err != nil {
		return fmt.Errorf("store WhatsApp version: %w", err)
	}
	return nil
}

// deviceContainer is the store.DeviceContainer of one gateway device: it
// knows which gateway device a whatsmeow device belongs to before the
// device has a JID.
type deviceContainer struct {
	c  *Container
	id int64
}

var _ store.DeviceContainer = (*deviceContainer)(nil)

// PutDevice implements store.DeviceContainer. The first save of a device
// (at pairing) starts from an empty keyspace, so nothing left from an
// earlier pairing of the same gateway device is ever read.
func (dc *deviceContainer) PutDevice(ctx context.Context, d *store.Device) error {
	if d.ID == nil {
		return ErrNoJID
	}
	rec := newDeviceRecord(d)
	fresh := !d.Initialized
	err := dc.c.inTxn(ctx, func(ctx context.Context) error {
		if fresh {
			if err := dc.c.rw(ctx).DeletePrefix(devicePrefix(dc.id)); err != nil {
				return err
			}
		}
		if err := dc.c.putRecord(ctx, deviceRecordKey(dc.id), rec); err != nil {
			return err
		}
		return dc.c.rw(ctx).Set(deviceJIDKey(dc.id), []byte(d.ID.String()))
	})
	if err != nil {
		return fmt.Errorf("save device %d: %w", dc.id, err)
	}
	if fresh {
		dc.c.attach(dc.id, d)
	}
	return nil
}

// DeleteDevice implements store.DeviceContainer: whatsmeow calls it on
// logout; everything of the gateway device goes.
func (dc *deviceContainer) DeleteDevice(ctx context.Context, _ *store.Device) error {
	return dc.c.Forget(ctx, dc.id)
}

// deviceRecord is what whatsmeow's SQL store keeps in its device table.
type deviceRecord struct {
	JID             string    `json:"jid"`
	LID             string    `json:"lid,omitempty"`
	FacebookUUID    uuid.UUID `json:"facebook_uuid"`
	RegistrationID  uint32    `json:"registration_id"`
	NoiseKey        []byte    `json:"noise_key"`    // private, 32 bytes
	IdentityKey     []byte    `json:"identity_key"` // private, 32 bytes
	SignedPreKey    []byte    `json:"signed_pre_key"`
	SignedPreKeyID  uint32    `json:"signed_pre_key_id"`
	SignedPreKeySig []byte    `json:"signed_pre_key_sig"` // 64 bytes
	AdvKey          []byte    `json:"adv_key"`
	AdvDetails      []byte    `json:"adv_details,omitempty"`
	AdvAccountSig   []byte    `json:"adv_account_sig,omitempty"`
	AdvAccountKey   []byte    `json:"adv_account_sig_key,omitempty"`
	AdvDeviceSig    []byte    `json:"adv_device_sig,omitempty"`
	Platform        string    `json:"platform,omitempty"`
	BusinessName    string    `json:"business_name,omitempty"`
	PushName        string    `json:"push_name,omitempty"`
	LIDMigrationTS  int64     `json:"lid_migration_ts,omitempty"`
}

func newDeviceRecord(d *store.Device) *deviceRecord {
	rec := &deviceRecord{
		JID:             d.ID.String(),
		FacebookUUID:    d.FacebookUUID,
		RegistrationID:  d.RegistrationID,
		NoiseKey:        d.NoiseKey.Priv[:],
		IdentityKey:     d.IdentityKey.Priv[:],
		SignedPreKey:    d.SignedPreKey.Priv[:],
		SignedPreKeyID:  d.SignedPreKey.KeyID,
		SignedPreKeySig: d.SignedPreKey.Signature[:],
		AdvKey:          d.AdvSecretKey,
		Platform:        d.Platform,
		BusinessName:    d.BusinessName,
		PushName:        d.PushName,
		LIDMigrationTS:  d.LIDMigrationTimestamp,
	}
	if !d.LID.IsEmpty() {
		rec.LID = d.LID.String()
	}
	if a := d.Account; a != nil {
		rec.AdvDetails, rec.AdvAccountSig, rec.AdvAccountKey, rec.AdvDeviceSig =
			a.Details, a.AccountSignature, a.AccountSignatureKey, a.DeviceSignature
	}
	return rec
}

// device rebuilds the whatsmeow device (without its stores).
func (rec *deviceRecord) device() (*store.Device, error) {
	if len(rec.NoiseKey) != 32 || len(rec.IdentityKey) != 32 || len(rec.SignedPreKey) != 32 || len(rec.SignedPreKeySig) != 64 {
		return nil, fmt.Errorf("%w: device keys of the wrong length", ErrCorrupt)
	}
	jid, err := types.ParseJID(rec.JID)
	if err != nil {
		return nil, fmt.Errorf("%w: device JID: %v", ErrCorrupt, err)
	}
	var lid types.JID
	if rec.LID != "" {
		if lid, err = types.ParseJID(rec.LID); err != nil {
			return nil, fmt.Errorf("%w: device LID: %v", ErrCorrupt, err)
		}
	}
	return &store.Device{
		ID:             &jid,
		LID:            lid,
		RegistrationID: rec.RegistrationID,
		NoiseKey:       keys.NewKeyPairFromPrivateKey([32]byte(rec.NoiseKey)),
		IdentityKey:    keys.NewKeyPairFromPrivateKey([32]byte(rec.IdentityKey)),
		SignedPreKey: &keys.PreKey{
			KeyPair:   *keys.NewKeyPairFromPrivateKey([32]byte(rec.SignedPreKey)),
			KeyID:     rec.SignedPreKeyID,
			Signature: (*[64]byte)(rec.SignedPreKeySig),
		},
		AdvSecretKey: rec.AdvKey,
		Account: &waAdv.ADVSignedDeviceIdentity{
			Details:             rec.AdvDetails,
			AccountSignature:    rec.AdvAccountSig,
			AccountSignatureKey: rec.AdvAccountKey,
			DeviceSignature:     rec.AdvDeviceSig,
		},
		Platform:              rec.Platform,
		BusinessName:          rec.BusinessName,
		PushName:              rec.PushName,
		FacebookUUID:          rec.FacebookUUID,
		LIDMigrationTimestamp: rec.LIDMigrationTS,
	}, nil
}
