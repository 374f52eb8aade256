package api

import (
	"io/fs"
	"path"

	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/web"
)

// dashboardCSP allows the page only its own scripts, styles and API, and
// data: images (QR codes arrive as data URLs).
const dashboardCSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// dashboard serves the dashboard page; it routes itself by URL fragment.
func (s *Server) dashboard(c *fiber.Ctx) error {
	return s.dashboardFile(c, "index.html")
}

// dashboardAsset serves the page's script and stylesheet.
func (s *Server) dashboardAsset(c *fiber.Ctx) error {
	return s.dashboardFile(c, c.Params("file"))
}

func (s *Server) dashboardFile(c *fiber.Ctx, name string) error {
	b, err := fs.ReadFile(web.Dashboard(), path.Clean(name))
	if err != nil {
		return errNotFound
	}
	switch path.Ext(name) {
	case ".html":
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		c.Set(fiber.HeaderCacheControl, "no-cache")
	case ".js":
		c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-cache")
	case ".css":
		c.Set(fiber.HeaderContentType, "text/css; charset=utf-8")
		c.Set(fiber.HeaderCacheControl, "no-cache")
	}
	c.Set(fiber.HeaderContentSecurityPolicy, dashboardCSP)
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Send(b)
}
