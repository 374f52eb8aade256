package web

import (
	"embed"
	"io/fs"
)

//go:embed swagger/index.html swagger/swagger-init.js swagger/swagger-ui-bundle.js swagger/swagger-ui.css swagger/LICENSE swagger/NOTICE
var swaggerFiles embed.FS

// APIExplorer is the Swagger UI: index.html and its assets at the root.
func APIExplorer() fs.FS {
	sub, err := fs.Sub(swaggerFiles, "swagger")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
