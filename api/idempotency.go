package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors"
	"github.com/wa-gateway/wa-gateway/storage"
)

// Idempotency-Key on the send routes: a client that retries a send with
// the same key within 24 hours gets the first answer again (its status and
// body, with Idempotent-Replayed: true) and nothing is sent twice.
//
// The key is reserved in the store before the request runs, with the id
// its message will have, and the answer is stored when it is given. A
// retry while the first request runs is 409 idempotency_in_progress; the
// same key with a different request (another body, route or caller) is
// 422 idempotency_mismatch. A request refused for a reason that admitted
// nothing (4xx) frees its key, so a retry after a 429 may use it again. A
// reservation left without an answer (the gateway stopped, or the request
// failed without knowing whether the message was admitted) is taken over
// by the retry: it answers the message stored under the reserved id if
// there is one, else runs the request again under that same id, which the
// device actor never admits twice.

const (
	headerIdempotencyKey     = "Idempotency-Key"
	headerIdempotentReplayed = "Idempotent-Replayed"
	idempotencyTTL           = 24 * time.Hour
	idempotencySweepInterval = 10 * time.Minute
	idempotencySweepBatch    = 1000
)

var (
	errIdempotencyMismatch = &apiError{status: http.StatusUnprocessableEntity, code: "idempotency_mismatch",
		message: "This Idempotency-Key was used for a different request within the last 24 hours; use a new key for a new request"}
	errIdempotencyInProgress = &apiError{status: http.StatusConflict, code: "idempotency_in_progress",
		message: "A request with this Idempotency-Key is still being answered; retry once it has been"}
)

// idempotentMessage keys the message id reserved for a request in fiber's Locals.
type idempotentMessage struct{}

// reservedMessageID is the message id the request's Idempotency-Key
// reserved ("" without a key): admit sends under it.
func reservedMessageID(c *fiber.Ctx) string {
	id, _ := c.Locals(idempotentMessage{}).(string)
	return id
}

// idemRef names a key: keys are per workspace.
type idemRef struct {
	ws  int64
	key string
}

// idempotency keeps which keys have a request running in this process, and
// sweeps expired keys from the store.
type idempotency struct {
	db  *storage.DB
	log *slog.Logger

	mu      sync.Mutex
	running map[idemRef]bool

	stop chan struct{}
	done chan struct{}
}

func newIdempotency(db *storage.DB, log *slog.Logger) *idempotency {
	return &idempotency{db: db, log: log, running: make(map[idemRef]bool), stop: make(chan struct{}), done: make(chan struct{})}
}

// run deletes expired keys every interval until close.
func (i *idempotency) run(interval time.Duration) {
	defer close(i.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			i.sweep(now)
		case <-i.stop:
			return
		}
	}
}

func (i *idempotency) sweep(now time.Time) {
	for {
		n, err := i.db.DeleteExpiredIdempotencyKeys(now, idempotencySweepBatch)
		if err != nil {
			if !errors.Is(err, storage.ErrClosed) {
				i.log.Error("delete expired idempotency keys", "err", err)
			}
			return
		}
		if n < idempotencySweepBatch {
			return
		}
	}
}

func (i *idempotency) close() {
	close(i.stop)
	<-i.done
}

// claim marks ref as running here; false when it already is.
func (i *idempotency) claim(ref idemRef) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.running[ref] {
		return false
	}
	i.running[ref] = true
	return true
}

func (i *idempotency) unclaim(ref idemRef) {
	i.mu.Lock()
	defer i.mu.Unlock()
	delete(i.running, ref)
}

// checkIdempotencyKey accepts 1 to 255 visible ASCII characters.
func checkIdempotencyKey(key string) error {
	ok := len(key) <= storage.MaxIdempotencyKeyLen
	for j := 0; ok && j < len(key); j++ {
		ok = key[j] > ' ' && key[j] < 0x7f
	}
	if !ok {
		return validationError(headerIdempotencyKey, "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is a good key)")
	}
	return nil
}

// requestFingerprint identifies what a request asks: its method, path,
// caller (kind and device) and body. A JSON body is compared by content,
// so a retry that encodes it again with other spacing or key order is the
// same request.
func requestFingerprint(c *fiber.Ctx, p *principal) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n%s %d\n", c.Method(), c.Path(), p.Kind, p.DeviceID)
	body := c.Body()
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationJSON) {
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			if canonical, err := json.Marshal(v); err == nil {
				body = canonical
			}
		}
	}
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// idempotent wraps a send handler with the Idempotency-Key semantics.
// Requests without the header run as they are.
func (s *Server) idempotent(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		key := c.Get(headerIdempotencyKey)
		if key == "" {
			return h(c)
		}
		if err := checkIdempotencyKey(key); err != nil {
			return err
		}
		p := principalOf(c)
		ref := idemRef{ws: p.WorkspaceID, key: key}
		fp := requestFingerprint(c, p)
		if !s.idem.claim(ref) {
			// Running here now: the stored record says for which request.
			rec, err := s.db.GetIdempotencyKey(ref.ws, key, s.now())
			if err == nil && rec.Fingerprint != fp {
				return errIdempotencyMismatch
			}
			return errIdempotencyInProgress
		}
		defer s.idem.unclaim(ref)

		now := s.now()
		rec, reserved, err := s.db.ReserveIdempotencyKey(storage.IdempotencyRecord{
			WorkspaceID: ref.ws, Key: key, Fingerprint: fp, MessageID: storage.NewMessageID(),
			CreatedAt: now, ExpiresAt: now.Add(idempotencyTTL),
		}, now)
		if err != nil {
			return err
		}
		switch {
		case rec.Fingerprint != fp:
			return errIdempotencyMismatch
		case !rec.Pending():
			c.Set(headerIdempotentReplayed, "true")
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
			return c.Status(rec.Status).Send(rec.Body)
		case !reserved:
			// Reserved by a request that is not running any more and never
			// answered: answer its message, if it was admitted.
			if m, err := s.db.GetMessage(ref.ws, rec.MessageID); err == nil {
				return s.answerAdmitted(c, rec, m)
			}
		}
		c.Locals(idempotentMessage{}, rec.MessageID)
		herr := h(c)
		s.recordAnswer(c, rec, herr)
		return herr
	}
}

// answerAdmitted answers the message a key's request admitted, stores that
// answer for later retries and marks it replayed.
func (s *Server) answerAdmitted(c *fiber.Ctx, rec storage.IdempotencyRecord, m storage.Message) error {
	status := http.StatusOK
	if m.Status == statusQueued {
		status = http.StatusAccepted
	}
	body, err := json.Marshal(successEnvelope{Success: true, Data: newMessageDTO(m)})
	if err != nil {
		return err
	}
	if err := s.db.CompleteIdempotencyKey(rec.WorkspaceID, rec.Key, rec.Fingerprint, m.DeviceID, status, body); err != nil {
		s.log.Warn("store idempotent answer", "err", err)
	}
	c.Set(headerIdempotentReplayed, "true")
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(status).Send(body)
}

// recordAnswer keeps the answer to a key's request: a success for retries
// to get again; a refusal (4xx) frees the key, since nothing was admitted
// (unless a message was stored under the key's id after all); a server
// error leaves the reservation for a retry to take over.
func (s *Server) recordAnswer(c *fiber.Ctx, rec storage.IdempotencyRecord, herr error) {
	status := c.Response().StatusCode()
	if herr != nil {
		status = s.wireError(c, herr).status
	}
	var err error
	switch m, merr := s.db.GetMessage(rec.WorkspaceID, rec.MessageID); {
	case herr == nil && status >= 200 && status < 300:
		device := int64(0)
		if merr == nil {
			device = m.DeviceID
		}
		err = s.db.CompleteIdempotencyKey(rec.WorkspaceID, rec.Key, rec.Fingerprint, device, status, bytes.Clone(c.Response().Body()))
	case merr == nil, status >= 500:
		// Admitted after all, or not known: a retry takes the key over.
	default:
		err = s.db.ReleaseIdempotencyKey(rec.WorkspaceID, rec.Key, rec.Fingerprint)
	}
	if err != nil {
		s.log.Warn("store idempotent answer", "key", rec.Key, "err", err)
	}
}

// actorsSend is the gateway's send, under the request's reserved id.
func (s *Server) actorsSend(c *fiber.Ctx, ws int64, req actors.SendRequest) (actors.SendResult, error) {
	req.MessageID = reservedMessageID(c)
	return s.gw.Send(c.UserContext(), ws, req)
}
