package api

import (
	"fmt"
	"net"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// parseProxies reads Config.TrustedProxies: IP addresses (one host each)
// and CIDRs.
func parseProxies(list []string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range list {
		if ip := net.ParseIP(p); ip != nil {
			bits := 8 * len(ip.To16())
			if v4 := ip.To4(); v4 != nil {
				ip, bits = v4, 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, fmt.Errorf("api: trusted proxy %q: not an IP address or a CIDR", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// clientIP is the address a request came from: the connection's, or, when
// the connection is from a trusted proxy, the nearest address in
// X-Forwarded-For that is not a trusted proxy itself. Proxies append the
// address they were reached from, so that one is what the last trusted
// proxy saw; what lies left of it is whatever the client claimed, and is
// ignored. A malformed entry ends the walk at the proxy.
func (s *Server) clientIP(c *fiber.Ctx) string {
	remote := c.Context().RemoteIP()
	if !s.trustedProxy(remote) {
		return remote.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip := net.ParseIP(strings.TrimSpace(hops[i]))
		if ip == nil {
			break
		}
		if !s.trustedProxy(ip) {
			return ip.String()
		}
	}
	return remote.String()
}

func (s *Server) trustedProxy(ip net.IP) bool {
	for _, n := range s.proxies {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
