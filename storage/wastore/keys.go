package wastore

import (
	"encoding/binary"
	"fmt"
)

// This file is the only place where keys are built and parsed; doc.go has
// the keyspace table. Keys are relative to the storage namespace "wa/".
// Integers are big-endian (so byte order is numeric order); a string part
// that is not last is followed by a 0x00 separator, which no JID, Signal
// address or app-state name contains.

// Key prefixes.
const (
	keySchema    = "v"   // the whole key
	keyWAVersion = "ver" // the whole key

	prefixDeviceJID = "j/" // j/<device id> → the device's JID
	prefixDevice    = "d/" // d/<device id>/… → everything of one device

	prefixLIDToPN = "lp/" // global: LID user → phone user
	prefixPNToLID = "pl/" // global: phone user → LID user
)

// Tables inside a device's prefix.
const (
	tableRecord       = "dv" // the whole key after the device prefix
	tableIdentity     = "ik/"
	tableSession      = "ss/"
	tablePreKey       = "pk/"
	tableSenderKey    = "sk/"
	tableAppStateKey  = "ak/"
	tableAppStateVer  = "av/"
	tableAppStateMAC  = "am/"
	tableContact      = "ct/"
	tableChatSettings = "cs/"
	tableMsgSecret    = "ms/"
	tablePrivacyToken = "pt/"
	tableEventBuffer  = "eb/"
)

const sep = 0

func schemaKey() []byte    { return []byte(keySchema) }
func waVersionKey() []byte { return []byte(keyWAVersion) }

func appendID(k []byte, id int64) []byte { return binary.BigEndian.AppendUint64(k, uint64(id)) }

func deviceJIDPrefix() []byte { return []byte(prefixDeviceJID) }

func deviceJIDKey(device int64) []byte { return appendID([]byte(prefixDeviceJID), device) }

func parseDeviceJIDKey(k []byte) (int64, error) {
	if len(k) != len(prefixDeviceJID)+8 || string(k[:len(prefixDeviceJID)]) != prefixDeviceJID {
		return 0, fmt.Errorf("%w: device key %x", ErrCorrupt, k)
	}
	return int64(binary.BigEndian.Uint64(k[len(prefixDeviceJID):])), nil
}

// devicePrefix is the prefix of everything stored for one device.
func devicePrefix(device int64) []byte {
	return append(appendID([]byte(prefixDevice), device), '/')
}

func deviceRecordKey(device int64) []byte { return append(devicePrefix(device), tableRecord...) }

// tableKey is a device's table prefix followed by parts; every part but the
// last is followed by the separator.
func tableKey(device int64, table string, parts ...string) []byte {
	k := append(devicePrefix(device), table...)
	for i, p := range parts {
		if i > 0 {
			k = append(k, sep)
		}
		k = append(k, p...)
	}
	return k
}

// tablePrefix is tableKey for a prefix scan: the parts each end with the
// separator, so "a" does not match "ab".
func tablePrefix(device int64, table string, parts ...string) []byte {
	k := append(devicePrefix(device), table...)
	for _, p := range parts {
		k = append(append(k, p...), sep)
	}
	return k
}

func identityKey(device int64, address string) []byte {
	return tableKey(device, tableIdentity, address)
}

// addressesOfUser is the prefix of every Signal address ("user:device") of
// a user in table.
func addressesOfUser(device int64, table, user string) []byte {
	return tableKey(device, table, user+":")
}

func sessionKey(device int64, address string) []byte {
	return tableKey(device, tableSession, address)
}

func preKeyKey(device int64, id uint32) []byte {
	return binary.BigEndian.AppendUint32(tableKey(device, tablePreKey), id)
}

func preKeysPrefix(device int64) []byte { return tableKey(device, tablePreKey) }

// parsePreKeyID reads the id of a key relative to preKeysPrefix.
func parsePreKeyID(rest []byte) (uint32, error) {
	if len(rest) != 4 {
		return 0, fmt.Errorf("%w: prekey key of %d bytes", ErrCorrupt, len(rest))
	}
	return binary.BigEndian.Uint32(rest), nil
}

func senderKeyKey(device int64, group, sender string) []byte {
	return tableKey(device, tableSenderKey, group, sender)
}

func senderKeysPrefix(device int64) []byte { return tableKey(device, tableSenderKey) }

// parseSenderKey reads group and sender from a key relative to
// senderKeysPrefix.
func parseSenderKey(rest []byte) (group, sender string, err error) {
	for i, b := range rest {
		if b == sep {
			return string(rest[:i]), string(rest[i+1:]), nil
		}
	}
	return "", "", fmt.Errorf("%w: sender key without separator", ErrCorrupt)
}

func appStateKeyKey(device int64, id []byte) []byte {
	return append(tableKey(device, tableAppStateKey), id...)
}

func appStateKeysPrefix(device int64) []byte { return tableKey(device, tableAppStateKey) }

func appStateVersionKey(device int64, name string) []byte {
	return tableKey(device, tableAppStateVer, name)
}

// appStateMACsPrefix is the prefix of every mutation MAC of an app-state
// collection.
func appStateMACsPrefix(device int64, name string) []byte {
	return tablePrefix(device, tableAppStateMAC, name)
}

// appStateMACIndexPrefix is the prefix of every version of one index MAC.
// The MAC's length comes first, so that no MAC's prefix matches a longer one.
func appStateMACIndexPrefix(device int64, name string, indexMAC []byte) []byte {
	k := binary.BigEndian.AppendUint16(appStateMACsPrefix(device, name), uint16(len(indexMAC)))
	return append(k, indexMAC...)
}

func appStateMACKey(device int64, name string, indexMAC []byte, version uint64) []byte {
	return binary.BigEndian.AppendUint64(appStateMACIndexPrefix(device, name, indexMAC), version)
}

func contactKey(device int64, jid string) []byte { return tableKey(device, tableContact, jid) }

func contactsPrefix(device int64) []byte { return tableKey(device, tableContact) }

func chatSettingsKey(device int64, chat string) []byte {
	return tableKey(device, tableChatSettings, chat)
}

func msgSecretKey(device int64, chat, sender, id string) []byte {
	return tableKey(device, tableMsgSecret, chat, sender, id)
}

func privacyTokenKey(device int64, jid string) []byte {
	return tableKey(device, tablePrivacyToken, jid)
}

func eventBufferKey(device int64, hash [32]byte) []byte {
	return append(tableKey(device, tableEventBuffer), hash[:]...)
}

func eventBufferPrefix(device int64) []byte { return tableKey(device, tableEventBuffer) }

func lidToPNKey(lidUser string) []byte { return append([]byte(prefixLIDToPN), lidUser...) }

func pnToLIDKey(pnUser string) []byte { return append([]byte(prefixPNToLID), pnUser...) }
