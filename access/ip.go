package access

import (
	"fmt"
	"net/netip"

	"github.com/modelgate/modelgate/store"
)

// IPPolicy holds allow and deny lists, global and per key. Within a list a
// deny beats an allow; a non-empty allow list refuses every address it does
// not cover.
type IPPolicy struct {
	global ipLists
	perKey map[string]*ipLists
}

type ipLists struct {
	allow, deny []netip.Prefix
}

// NewIPPolicy builds a policy from rules. A rule with a KeyID applies only
// to that key.
func NewIPPolicy(rules []*store.IPRule) (*IPPolicy, error) {
	p := &IPPolicy{perKey: make(map[string]*ipLists)}
	for _, r := range rules {
		prefix, err := ParseCIDR(r.CIDR)
		if err != nil {
			return nil, fmt.Errorf("ip rule %s: %w", r.ID, err)
		}
		l := &p.global
		if r.KeyID != "" {
			if l = p.perKey[r.KeyID]; l == nil {
				l = &ipLists{}
				p.perKey[r.KeyID] = l
			}
		}
		switch r.Action {
		case store.IPAllow:
			l.allow = append(l.allow, prefix)
		case store.IPDeny:
			l.deny = append(l.deny, prefix)
		default:
			return nil, fmt.Errorf("ip rule %s: action must be allow or deny, not %q", r.ID, r.Action)
		}
	}
	return p, nil
}

// ParseCIDR parses a CIDR range or a single address (taken as /32 or /128).
func ParseCIDR(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		// Rules meet unmapped addresses, so an IPv4-mapped range
		// (::ffff:10.0.0.0/104) becomes the IPv4 range it means.
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither a CIDR range nor an IP address", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// AllowGlobal reports whether the global lists admit addr.
func (p *IPPolicy) AllowGlobal(addr netip.Addr) bool { return p.global.admits(addr) }

// AllowKey reports whether a key's own lists admit addr.
func (p *IPPolicy) AllowKey(keyID string, addr netip.Addr) bool {
	l := p.perKey[keyID]
	return l == nil || l.admits(addr)
}

func (l *ipLists) admits(addr netip.Addr) bool {
	// An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d; it
	// must meet the IPv4 rules, not slip past them.
	addr = addr.Unmap()
	for _, p := range l.deny {
		if p.Contains(addr) {
			return false
		}
	}
	if len(l.allow) == 0 {
		return true
	}
	for _, p := range l.allow {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
