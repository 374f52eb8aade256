package storage

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// recordVersion is the first byte of every stored record; the JSON of the
// record follows. A change that old code cannot read (a renamed field, a
// changed meaning) bumps it, and decodeRecord learns to upgrade the older
// version; added fields with a usable zero value need no bump.
const recordVersion byte = 1

func encodeRecord(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return append([]byte{recordVersion}, data...), nil
}

func decodeRecord(data []byte, v any) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty %T record", ErrCorrupt, v)
	}
	if data[0] != recordVersion {
		return fmt.Errorf("%w: %T record has unknown schema version %d", ErrCorrupt, v, data[0])
	}
	if err := json.Unmarshal(data[1:], v); err != nil {
		return fmt.Errorf("%w: %T record: %v", ErrCorrupt, v, err)
	}
	return nil
}

// Index values and counters are raw big-endian integers, not records: they
// never change shape.

func encodeUint64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func decodeUint64(data []byte) (uint64, error) {
	if len(data) != 8 {
		return 0, fmt.Errorf("%w: %d-byte integer value", ErrCorrupt, len(data))
	}
	return binary.BigEndian.Uint64(data), nil
}

func encodeID(id int64) []byte { return encodeUint64(uint64(id)) }

func decodeID(data []byte) (int64, error) {
	n, err := decodeUint64(data)
	return int64(n), err
}

// encodeMessageRef is the value of a WAID index entry: the message's
// workspace (8 bytes) then its id.
func encodeMessageRef(ws int64, id string) []byte { return append(encodeID(ws), id...) }

func decodeMessageRef(data []byte) (ws int64, id string, err error) {
	if len(data) <= 8 {
		return 0, "", fmt.Errorf("%w: %d-byte message reference", ErrCorrupt, len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), string(data[8:]), nil
}
