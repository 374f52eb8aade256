// Package web holds the files the gateway serves to browsers, embedded in
// the binary: the interactive API explorer (Swagger UI, from the
// swagger-ui-dist package, Apache-2.0, LICENSE and NOTICE beside it) and
// the dashboard: one page of plain HTML, CSS and an ES module that signs in
// with the session cookie and uses the same public API as any client (no
// build step). It has no Go dependencies beyond the standard library; the
// api package mounts what it exposes.
package web
