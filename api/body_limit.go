package api

import (
	"encoding/base64"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/actors/egress"
)

// Request bodies: JSON requests are bounded by Config.BodyLimit; the
// routes that carry media (largeBodyRoutes) by what the largest document
// takes in base64 plus room for the rest of the request. fasthttp enforces
// the larger bound while reading; limitBody the smaller one for every
// other route.

// largeBodyRoutes are the routes whose bodies carry media.
var largeBodyRoutes = map[string]bool{
	"POST /api/files":               true,
	"POST /api/messages/send-media": true,
	// The same media sends on the Device API Keys guide's surface.
	"POST /api/whatsapp/send/image":    true,
	"POST /api/whatsapp/send/document": true,
	"POST /api/whatsapp/send/video":    true,
	"POST /api/whatsapp/send/audio":    true,
}

// mediaBodySlack is room for the JSON or multipart around the media.
const mediaBodySlack = 1 << 20

// setMediaDefaults fills the media settings left zero.
func (c *Config) setMediaDefaults() {
	if c.MediaMaxBytes <= 0 {
		c.MediaMaxBytes = DefaultMediaMaxBytes
	}
	if c.DocumentMaxBytes <= 0 {
		c.DocumentMaxBytes = DefaultDocumentMaxBytes
	}
	c.FileRetention = orDefault(c.FileRetention, DefaultFileRetention)
	c.MediaFetchTimeout = orDefault(c.MediaFetchTimeout, DefaultMediaFetchTimeout)
}

// mediaBodyLimit is the largest body of a route that carries media.
func mediaBodyLimit(c Config) int {
	largest := max(c.MediaMaxBytes, c.DocumentMaxBytes)
	return base64.StdEncoding.EncodedLen(int(largest)) + mediaBodySlack
}

// limitBody refuses, with 413, a body over BodyLimit on a route that does
// not carry media. It reads the length fasthttp already knows, so that a
// pre-parsed multipart form is not serialised again.
func (s *Server) limitBody(c *fiber.Ctx) error {
	if largeBodyRoutes[c.Method()+" "+c.Path()] {
		return c.Next()
	}
	n := c.Request().Header.ContentLength()
	if n < 0 {
		n = len(c.Request().Body())
	}
	if n > s.cfg.BodyLimit {
		return errPayloadTooLarge
	}
	return c.Next()
}

// newMediaClient is the HTTP client for media URLs: no redirects followed
// by itself (fetchMedia re-checks each hop), and the private-address guard
// on every connection unless AllowPrivateURLs.
func newMediaClient(c Config) *http.Client {
	return egress.NewClient(egress.Options{AllowPrivate: c.AllowPrivateURLs, Timeout: c.MediaFetchTimeout})
}
