package plugins

import "errors"

// ErrUnknownBundled: a definition names a bundled plugin this build does
// not have.
var ErrUnknownBundled = errors.New("unknown bundled plugin")
