package actors

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wa-gateway/wa-gateway/actors/egress"
	"github.com/wa-gateway/wa-gateway/storage"
)

// How one webhook delivery is made: the request, its signatures, what
// counts as delivered, and when to try again.

// Retry policy (API.md §6: exponential backoff with jitter for at least 3
// days, Retry-After honoured).
var retrySchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour,
}

const (
	// retryWindow: a delivery is tried until this long after its first
	// attempt has passed; the attempt that fails after it is the last.
	retryWindow = 72 * time.Hour
	// maxRetryAfter caps how long an endpoint's Retry-After may hold its
	// deliveries back.
	maxRetryAfter = 12 * time.Hour
	// responseSnippet is how much of an endpoint's answer is kept in the
	// deliveries log.
	responseSnippet = 4 << 10
	// webhookUserAgent identifies the gateway's requests to endpoints.
	webhookUserAgent = "WA-Gateway-Webhooks/1"
)

// Webhook secrets: "whsec_" and the base64 of 32 random bytes, as
// Standard Webhooks shows them.
const (
	secretPrefix = "whsec_"
	secretBytes  = 32
)

// newWebhookSecret returns a new signing secret.
func newWebhookSecret() string {
	b := make([]byte, secretBytes)
	_, _ = rand.Read(b) // never fails (it crashes the program instead)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// retryDelay is the wait after the n-th failed attempt (n ≥ 1): the
// schedule's step with jitter (between half of it and all of it, so that
// endpoints failing together do not retry together), and never shorter
// than what the endpoint asked for with Retry-After (capped).
func retryDelay(n int, retryAfter time.Duration) time.Duration {
	step := retrySchedule[min(max(n, 1), len(retrySchedule))-1]
	d := step/2 + mathrand.N(step/2)
	if retryAfter > 0 {
		d = max(d, min(retryAfter, maxRetryAfter))
	}
	return d
}

// webhookRequest is one attempt, copied off the webhook actor.
type webhookRequest struct {
	url       string
	eventID   string
	eventType string
	body      []byte
	// secrets sign the request: the current one first, then the previous
	// one while a rotation's overlap lasts.
	secrets []string
}

// attemptResult is how an attempt went.
type attemptResult struct {
	at         time.Time
	code       int           // 0: no answer
	latency    time.Duration // until the answer (or the failure)
	response   string        // the answer's start
	retryAfter time.Duration // what the endpoint asked for, 0 when nothing
	err        error         // transport failure, nil when an answer came
}

// delivered reports whether the endpoint took the event (2xx).
func (r attemptResult) delivered() bool { return r.err == nil && r.code >= 200 && r.code < 300 }

// gone reports whether the endpoint said it will never take events again.
func (r attemptResult) gone() bool { return r.err == nil && r.code == http.StatusGone }

// describe says why an attempt failed, for the deliveries log.
func (r attemptResult) describe() string {
	switch {
	case r.err != nil:
		return describeTransportError(r.err)
	case r.code >= 300 && r.code < 400:
		return fmt.Sprintf("the endpoint answered %d; redirects are not followed", r.code)
	case !r.delivered():
		return fmt.Sprintf("the endpoint answered %d", r.code)
	}
	return ""
}

func describeTransportError(err error) string {
	switch {
	case errors.Is(err, egress.ErrPrivateAddress):
		return "the endpoint's address is private, loopback or link-local"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "the endpoint did not answer in time"
	}
	return "request failed: " + err.Error()
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// signatures computes the two signature headers of a request sent at ts:
// X-Webhook-Signature (lowercase hex HMAC-SHA256 of the body, keyed with
// the current secret string as it was handed out, "whsec_" included) and
// webhook-signature (Standard Webhooks: "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>", keyed with the decoded part of each secret after
// "whsec_", space-separated).
func signatures(secrets []string, id string, ts int64, body []byte) (hexSig, v1 string) {
	if len(secrets) == 0 {
		return "", ""
	}
	mac := hmac.New(sha256.New, []byte(secrets[0]))
	mac.Write(body)
	hexSig = hex.EncodeToString(mac.Sum(nil))

	signed := make([]byte, 0, len(id)+len(body)+24)
	signed = append(signed, id...)
	signed = append(signed, '.')
	signed = strconv.AppendInt(signed, ts, 10)
	signed = append(signed, '.')
	signed = append(signed, body...)
	var sigs []string
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, secretPrefix))
		if err != nil {
			continue // not a secret this gateway made; the hex signature still holds
		}
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return hexSig, strings.Join(sigs, " ")
}

// signingSecrets are the secrets that sign a webhook's requests at now.
func signingSecrets(h storage.Webhook, now time.Time) []string {
	s := []string{h.Secret}
	if h.PreviousSecret != "" && now.Before(h.PreviousSecretExpiresAt) {
		s = append(s, h.PreviousSecret)
	}
	return s
}

// sendWebhook makes one attempt. It blocks for at most the client's
// timeout; it runs off the actors.
func sendWebhook(ctx context.Context, client *http.Client, req webhookRequest) attemptResult {
	start := time.Now()
	res := attemptResult{at: start.UTC()}
	hexSig, v1 := signatures(req.secrets, req.eventID, start.Unix(), req.body)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.url, bytes.NewReader(req.body))
	if err != nil {
		res.err = err
		return res
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", webhookUserAgent)
	r.Header.Set("X-Webhook-Event", req.eventType)
	r.Header.Set("X-Webhook-Signature", hexSig)
	r.Header.Set("webhook-id", req.eventID)
	r.Header.Set("webhook-timestamp", strconv.FormatInt(start.Unix(), 10))
	r.Header.Set("webhook-signature", v1)

	resp, err := client.Do(r)
	res.latency = time.Since(start)
	if err != nil {
		res.err = err
		return res
	}
	res.code = resp.StatusCode
	res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	// The status decides; a body cut short only shortens the snippet.
	body, truncated, _ := egress.ReadBody(resp, responseSnippet)
	res.response = strings.ToValidUTF8(string(body), "\uFFFD")
	if truncated {
		res.response += "…"
	}
	return res
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date. 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// recordAttempt writes how an attempt went into its delivery record.
func recordAttempt(d *storage.Delivery, res attemptResult) {
	d.Attempts++
	d.LastAttemptAt = res.at
	d.Code = res.code
	d.LatencyMs = res.latency.Milliseconds()
	d.Response = res.response
	d.Error = res.describe()
}
