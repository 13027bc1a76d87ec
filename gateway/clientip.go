package gateway

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address a request came from. X-Forwarded-For is
// believed only when the connection comes from a trusted proxy, and then
// read from the right: the first address not itself a trusted proxy is the
// client. Entries to its left were written by the client and prove nothing.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !inAny(addr, trusted) {
		return addr
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := hops[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				hop, list = list[j+1:], list[:j]
			} else {
				hop, list = list, ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return addr // a garbled hop: stop at the last address known good
			}
			addr = a.Unmap()
			if !inAny(addr, trusted) {
				return addr
			}
		}
	}
	return addr
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
