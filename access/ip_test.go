package access

import (
	"net/netip"
	"testing"

	"github.com/modelgate/modelgate/store"
)

func TestIPPolicy(t *testing.T) {
	p, err := NewIPPolicy([]*store.IPRule{
		{ID: "1", CIDR: "10.0.0.0/8", Action: store.IPAllow},
		{ID: "2", CIDR: "2001:db8::/32", Action: store.IPAllow},
		{ID: "3", CIDR: "10.6.6.0/24", Action: store.IPDeny},
		{ID: "4", CIDR: "10.1.2.3", Action: store.IPDeny},
		{ID: "5", CIDR: "10.9.0.0/16", Action: store.IPAllow, KeyID: "k1"},
		{ID: "6", CIDR: "::ffff:10.7.0.0/112", Action: store.IPDeny},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr         string
		global, key1 bool
	}{
		{"10.0.0.1", true, false},
		{"10.9.1.1", true, true},
		{"10.6.6.6", false, false},        // deny beats allow
		{"::ffff:10.6.6.6", false, false}, // IPv4-mapped must not slip past an IPv4 deny
		{"::ffff:10.0.0.1", true, false},  // and still meets IPv4 allows
		{"10.1.2.3", false, false},        // single address rule
		{"10.7.1.1", false, false},        // IPv4-mapped rule applies to IPv4 clients
		{"192.168.1.1", false, false},     // outside the allow list
		{"2001:db8::1", true, false},
		{"2001:db9::1", false, false},
	}
	for _, tc := range tests {
		a := netip.MustParseAddr(tc.addr)
		if got := p.AllowGlobal(a); got != tc.global {
			t.Errorf("AllowGlobal(%s) = %v, want %v", tc.addr, got, tc.global)
		}
		if got := p.AllowKey("k1", a); got != tc.key1 {
			t.Errorf("AllowKey(k1, %s) = %v, want %v", tc.addr, got, tc.key1)
		}
		if !p.AllowKey("other", a) {
			t.Errorf("a key without rules was refused %s", tc.addr)
		}
	}
}

func TestIPPolicyEmptyAllowsAll(t *testing.T) {
	p, err := NewIPPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowGlobal(netip.MustParseAddr("203.0.113.9")) {
		t.Error("an empty policy refused an address")
	}
}

func TestIPPolicyRejectsBadRules(t *testing.T) {
	for _, r := range []*store.IPRule{
		{ID: "x", CIDR: "10.0.0.0/33", Action: store.IPDeny},
		{ID: "x", CIDR: "not-an-ip", Action: store.IPDeny},
		{ID: "x", CIDR: "10.0.0.0/8", Action: "block"},
	} {
		if _, err := NewIPPolicy([]*store.IPRule{r}); err == nil {
			t.Errorf("accepted %+v", r)
		}
	}
}
