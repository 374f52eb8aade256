// Package egress makes the gateway's outbound HTTP requests to addresses
// that its clients chose: webhook endpoints now, media URLs later. Such a
// request must not become a way into the gateway's own network (SSRF), so:
//
//   - CheckURL refuses, when a URL is registered, anything but an absolute
//     http or https URL, and a host that resolves to a loopback, private,
//     link-local, shared (CGNAT), unspecified, multicast or otherwise
//     special-purpose address (IPv4-mapped IPv6 included).
//   - NewClient's dialer checks the address it actually connects to, after
//     resolution, so that a name which resolved to a public address when it
//     was registered and to a private one now (DNS rebinding) is refused
//     all the same. Redirects are not followed (a 3xx is the answer), no
//     proxy from the environment is used, and every phase has a timeout.
//
// The address rules are those of code.dny.dev/ssrf, which tracks the IANA
// special-purpose registries. Options.AllowPrivate turns the checks off,
// for tests and local development (--allow-private-urls).
package egress
