package storage

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, and its order
// is byte order, so encoded ids sort like the numbers they encode.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// sortableIDLength is the length of an encoded id without its type prefix:
// 128 bits in 5-bit digits.
const sortableIDLength = 26

// sortableIDs makes every message and event id of this process.
var sortableIDs = idGenerator{now: time.Now}

// idGenerator makes ULID-style ids: 48 bits of Unix milliseconds, then 80
// random bits. Within one millisecond (or when the clock steps back) it
// increments the random part of the previous id instead, so ids it makes
// one after another sort in the order they were made.
type idGenerator struct {
	now func() time.Time

	mu sync.Mutex
	ms uint64 // millisecond of the last id
	hi uint16 // random part of the last id: top 16 bits
	lo uint64 // and low 64 bits
}

func (g *idGenerator) next(prefix string) string {
	g.mu.Lock()
	if ms := uint64(g.now().UnixMilli()); ms > g.ms {
		var r [10]byte
		_, _ = rand.Read(r[:]) // never fails (it crashes the program instead)
		g.ms, g.hi, g.lo = ms, binary.BigEndian.Uint16(r[:2]), binary.BigEndian.Uint64(r[2:])
	} else {
		g.lo++
		if g.lo == 0 {
			g.hi++
			if g.hi == 0 {
				// All 2^80 ids of this millisecond are used: borrow the next one.
				g.ms++
			}
		}
	}
	ms, hi, lo := g.ms, g.hi, g.lo
	g.mu.Unlock()
	return prefix + encodeSortableID(ms, hi, lo)
}

// encodeSortableID writes the 128-bit number ms(48) | hi(16) | lo(64) as 26
// base32 digits, most significant first (the first digit holds 3 bits).
func encodeSortableID(ms uint64, hi uint16, lo uint64) string {
	top := ms<<16 | uint64(hi)
	var out [sortableIDLength]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | top<<59
		top >>= 5
	}
	return string(out[:])
}

// isSortableID reports whether s is prefix followed by an encoded id.
func isSortableID(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != sortableIDLength || rest[0] > '7' {
		return false
	}
	for i := range len(rest) {
		if strings.IndexByte(crockford, rest[i]) < 0 {
			return false
		}
	}
	return true
}
