package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/wa-gateway/wa-gateway/plugins"
)

// pluginGuideType is the media type of the plugin author's guide.
const pluginGuideType = "text/markdown; charset=utf-8"

// pluginGuide serves the plugin author's guide (the script contract and
// the ctx API) as Markdown, for the dashboard's documentation page. It is
// public, like the rest of the documentation: it says nothing about any
// workspace.
func (s *Server) pluginGuide(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, pluginGuideType)
	return c.SendString(plugins.Guide)
}
