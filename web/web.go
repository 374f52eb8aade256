package web

import (
	"embed"
	"io/fs"
)

//go:embed swagger/index.html swagger/swagger-init.js swagger/swagger-ui-bundle.js swagger/swagger-ui.css swagger/LICENSE swagger/NOTICE
var swaggerFiles embed.FS

//go:embed dashboard/index.html dashboard/app.js dashboard/app.css
var dashboardFiles embed.FS

// APIExplorer is the Swagger UI: index.html and its assets at the root.
func APIExplorer() fs.FS {
	sub, err := fs.Sub(swaggerFiles, "swagger")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Dashboard is the operator dashboard: index.html and its assets at the root.
func Dashboard() fs.FS {
	sub, err := fs.Sub(dashboardFiles, "dashboard")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}
