package scripting

import "time"

// Limits bound what one plugin may cost. Zero fields take the default
// (DefaultLimits); the defaults are sized for filters and transforms of
// single WhatsApp events, far below what would hurt the gateway.
type Limits struct {
	// Budget is the wall-clock time of one onEvent call, conversions
	// included (default 50 ms). A call past it is interrupted.
	Budget time.Duration
	// MaxCallStackSize is the deepest JavaScript call nesting (default 256).
	MaxCallStackSize int
	// MaxSourceBytes caps a plugin's source (default 64 KiB).
	MaxSourceBytes int
	// MaxConfigBytes caps a plugin's config as JSON (default 16 KiB).
	MaxConfigBytes int
	// MaxEventBytes caps an event as JSON, going in and coming out
	// (default 256 KiB).
	MaxEventBytes int
	// MaxSplit caps how many events one event may become across a chain
	// (default 16).
	MaxSplit int
	// MaxStringLength caps the result of the string-building built-ins
	// (repeat, padStart, padEnd, concat, replace, join, JSON.stringify), in
	// UTF-16 code units (default 1 Mi).
	MaxStringLength int
	// MaxArrayLength caps the length of arrays the array built-ins accept
	// or create (default 64 Ki).
	MaxArrayLength int
	// MaxHeapGrowth is how much the process heap may grow while one call
	// runs before the call is interrupted (default 64 MiB). The heap is
	// shared, so this is an estimate; see the package documentation.
	MaxHeapGrowth uint64
	// MaxLogLines and MaxLogLineBytes cap ctx.log per call (defaults 32
	// lines of 1 KiB).
	MaxLogLines     int
	MaxLogLineBytes int
	// MaxReplies and MaxReplyChars cap ctx.reply per call (defaults 3
	// replies of 4,096 characters).
	MaxReplies    int
	MaxReplyChars int
}

// DefaultLimits returns the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		Budget:           50 * time.Millisecond,
		MaxCallStackSize: 256,
		MaxSourceBytes:   64 << 10,
		MaxConfigBytes:   16 << 10,
		MaxEventBytes:    256 << 10,
		MaxSplit:         16,
		MaxStringLength:  1 << 20,
		MaxArrayLength:   64 << 10,
		MaxHeapGrowth:    64 << 20,
		MaxLogLines:      32,
		MaxLogLineBytes:  1 << 10,
		MaxReplies:       3,
		MaxReplyChars:    4096,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	if l.Budget <= 0 {
		l.Budget = d.Budget
	}
	if l.MaxHeapGrowth == 0 {
		l.MaxHeapGrowth = d.MaxHeapGrowth
	}
	orDefault(&l.MaxCallStackSize, d.MaxCallStackSize)
	orDefault(&l.MaxSourceBytes, d.MaxSourceBytes)
	orDefault(&l.MaxConfigBytes, d.MaxConfigBytes)
	orDefault(&l.MaxEventBytes, d.MaxEventBytes)
	orDefault(&l.MaxSplit, d.MaxSplit)
	orDefault(&l.MaxStringLength, d.MaxStringLength)
	orDefault(&l.MaxArrayLength, d.MaxArrayLength)
	orDefault(&l.MaxLogLines, d.MaxLogLines)
	orDefault(&l.MaxLogLineBytes, d.MaxLogLineBytes)
	orDefault(&l.MaxReplies, d.MaxReplies)
	orDefault(&l.MaxReplyChars, d.MaxReplyChars)
	return l
}
