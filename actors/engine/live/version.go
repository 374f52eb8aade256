package live

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/store"
)

// The engine announces its own WhatsApp Web version through each client's
// GetClientPayload hook. whatsmeow's store.SetWAVersion would change a
// process-wide variable that running clients read (and, in the pinned
// version, not the version in the login payload at all).

// parseVersion reads "2.3000.1031080782".
func parseVersion(s string) (store.WAVersionContainer, error) {
	var v store.WAVersionContainer
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("%w: %q is not three dot-separated numbers", ErrBadVersion, s)
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return v, fmt.Errorf("%w: %q: %v", ErrBadVersion, s, err)
		}
		v[i] = uint32(n)
	}
	if v.IsZero() {
		return v, fmt.Errorf("%w: %q", ErrBadVersion, s)
	}
	return v, nil
}

// newer reports whether a is a later version than b.
func newer(a, b store.WAVersionContainer) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return false
}

// fetchLatest is the default Config.FetchVersion: the version WhatsApp Web
// serves now, read from web.whatsapp.com through hc (nil: the default
// HTTP client).
func fetchLatest(hc *http.Client) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		v, err := whatsmeow.GetLatestVersion(ctx, hc)
		if err != nil {
			return "", err
		}
		return v.String(), nil
	}
}

// payloadWithVersion is a client's GetClientPayload hook: whatsmeow's
// payload for the device, announcing version v.
func payloadWithVersion(d *store.Device, v store.WAVersionContainer) func() *waWa6.ClientPayload {
	return func() *waWa6.ClientPayload {
		p := d.GetClientPayload()
		if p.UserAgent != nil {
			p.UserAgent.AppVersion = v.ProtoAppVersion()
		}
		if p.DevicePairingData != nil {
			h := v.Hash()
			p.DevicePairingData.BuildHash = h[:]
		}
		return p
	}
}

// Version is the WhatsApp Web version the engine announces now.
func (e *Engine) Version() string { return e.currentVersion().String() }

func (e *Engine) currentVersion() store.WAVersionContainer {
	e.versionMu.Lock()
	defer e.versionMu.Unlock()
	return e.version
}

// startVersion is the version to announce at start: Config.Version when
// set, otherwise the one learned earlier and stored when it is newer than
// whatsmeow's own.
func (e *Engine) startVersion(ctx context.Context) (store.WAVersionContainer, error) {
	builtIn := store.GetWAVersion()
	if e.cfg.Version != "" {
		v, err := parseVersion(e.cfg.Version)
		if err != nil {
			return builtIn, err
		}
		e.log.Info("announcing a configured WhatsApp Web version", "version", v.String())
		return v, nil
	}
	stored, err := e.cfg.Store.WAVersion(ctx)
	if err != nil {
		return builtIn, err
	}
	if !stored.IsZero() && newer(stored, builtIn) {
		e.log.Info("announcing the WhatsApp Web version learned earlier", "version", stored.String())
		return stored, nil
	}
	return builtIn, nil
}

// refreshVersion is called after WhatsApp refused the version seen (405,
// client outdated). Unless the version has changed since (another device
// already refreshed it), it fetches the current one and, when newer,
// stores and announces it. It reports whether a retry may succeed.
func (e *Engine) refreshVersion(ctx context.Context, seen store.WAVersionContainer) (bool, error) {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	if e.currentVersion() != seen {
		return true, nil
	}
	if e.cfg.Version != "" {
		return false, nil // an operator's choice is not second-guessed
	}
	s, err := e.fetchVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("fetch the current WhatsApp Web version: %w", err)
	}
	v, err := parseVersion(s)
	if err != nil {
		return false, err
	}
	if !newer(v, seen) {
		return false, nil
	}
	if err := e.cfg.Store.PutWAVersion(ctx, v); err != nil {
		return false, err
	}
	e.versionMu.Lock()
	e.version = v
	e.versionMu.Unlock()
	e.log.Warn("WhatsApp refused our version; announcing the current one", "refused", seen.String(), "version", v.String())
	return true, nil
}
