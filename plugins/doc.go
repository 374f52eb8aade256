// Package plugins holds the plugins the gateway ships (bundled/*.js,
// embedded, each with golden cases in testdata/*.txtar) and turns stored
// plugin definitions, bundled or custom, into compiled plugins and chains.
//
// GUIDE.md, embedded as Guide, is the script author's guide: the onEvent
// contract, the ctx API, the limits, and the bundled plugins with their
// config.
package plugins
