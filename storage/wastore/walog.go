package wastore

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// LevelTrace is the slog level of whatsmeow's debug logs, which dump every
// protocol node: below slog.LevelDebug, so that a gateway at debug level
// shows whatsmeow's informational logs without them ("debug-4" shows both).
const LevelTrace = slog.LevelDebug - 4

// Logger adapts a slog logger to whatsmeow's: errors and warnings keep
// their level, whatsmeow's chatty info logs go to debug and its debug logs
// to LevelTrace. A nil logger discards. Sub-loggers add a "module"
// attribute ("Client/Recv").
func Logger(l *slog.Logger, module string) waLog.Logger {
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &waLogger{l: l.With("module", module), base: l, module: module}
}

type waLogger struct {
	l      *slog.Logger
	base   *slog.Logger
	module string
}

func (w *waLogger) log(level slog.Level, msg string, args []any) {
	if !w.l.Enabled(context.Background(), level) {
		return
	}
	w.l.Log(context.Background(), level, fmt.Sprintf(msg, args...))
}

func (w *waLogger) Errorf(msg string, args ...any) { w.log(slog.LevelError, msg, args) }
func (w *waLogger) Warnf(msg string, args ...any)  { w.log(slog.LevelWarn, msg, args) }
func (w *waLogger) Infof(msg string, args ...any)  { w.log(slog.LevelDebug, msg, args) }
func (w *waLogger) Debugf(msg string, args ...any) { w.log(LevelTrace, msg, args) }

func (w *waLogger) Sub(module string) waLog.Logger {
	return Logger(w.base, w.module+"/"+module)
}
