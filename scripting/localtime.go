package scripting

import (
	"sync"
	"time"
	// Time zones must work in a minimal container without a zoneinfo
	// directory: the binary carries its own copy.
	_ "time/tzdata"

	"github.com/dop251/goja"
)

// goja's Date knows only UTC and the server's local zone, and there is no
// Intl, so ctx.localTime is how a script reads a wall clock elsewhere:
// ctx.localTime(time?, timeZone?) → {year, month, day, hour, minute,
// second, weekday, timeZone, offsetMinutes, iso, epochMs}.

// maxCachedZones bounds the zone cache; names come from user config.
const maxCachedZones = 256

var zones = struct {
	sync.Mutex
	byName map[string]*time.Location
}{byName: map[string]*time.Location{}}

// loadZone is time.LoadLocation with a small cache (loading parses the
// embedded database each time).
func loadZone(name string) (*time.Location, error) {
	zones.Lock()
	loc, ok := zones.byName[name]
	zones.Unlock()
	if ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Lock()
	if len(zones.byName) < maxCachedZones {
		zones.byName[name] = loc
	}
	zones.Unlock()
	return loc, nil
}

// localTime is ctx.localTime(time?, timeZone?). time is a Date, an
// RFC 3339 string or milliseconds since the epoch, and defaults to ctx.now;
// timeZone is an IANA name ("Asia/Jakarta") and defaults to UTC.
func (rt *runtime) localTime(call goja.FunctionCall) goja.Value {
	t := rt.clock()
	switch v := call.Argument(0); {
	case isNullish(v):
	case goja.IsNumber(v):
		ms := v.ToFloat()
		if ms != ms || ms > 8.64e15 || ms < -8.64e15 {
			rt.sb.rangeErrorf("ctx.localTime: invalid time value")
		}
		t = time.UnixMilli(int64(ms))
	case goja.IsString(v):
		parsed, err := time.Parse(time.RFC3339Nano, v.String())
		if err != nil {
			rt.sb.rangeErrorf("ctx.localTime: %q is not an RFC 3339 time", v.String())
		}
		t = parsed
	default:
		obj, ok := v.(*goja.Object)
		if !ok || obj.ClassName() != "Date" {
			rt.sb.typeErrorf("ctx.localTime(time, timeZone): time must be a Date, a string or a number")
		}
		ms := obj.ToNumber().ToFloat()
		if ms != ms {
			rt.sb.rangeErrorf("ctx.localTime: invalid date")
		}
		t = time.UnixMilli(int64(ms))
	}
	loc := time.UTC
	if z := call.Argument(1); !isNullish(z) {
		if !goja.IsString(z) {
			rt.sb.typeErrorf("ctx.localTime(time, timeZone): timeZone must be a string")
		}
		var err error
		if loc, err = loadZone(z.String()); err != nil {
			rt.sb.rangeErrorf("ctx.localTime: unknown time zone %q", z.String())
		}
	}
	local := t.In(loc)
	_, offset := local.Zone()
	obj := rt.vm.NewObject()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"year", local.Year()},
		{"month", int(local.Month())},
		{"day", local.Day()},
		{"hour", local.Hour()},
		{"minute", local.Minute()},
		{"second", local.Second()},
		{"weekday", int(local.Weekday())},
		{"timeZone", loc.String()},
		{"offsetMinutes", offset / 60},
		{"iso", local.Format(timeFormat)},
		{"epochMs", local.UnixMilli()},
	} {
		if err := obj.Set(kv.k, kv.v); err != nil {
			panic(err)
		}
	}
	return obj
}
