package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestConsole walks the console as an administrator would and as an
// attacker would: pages need a session; only an admin key opens one; the
// cookie is HttpOnly and SameSite=Strict; a change without the session's
// CSRF token, with another session's, or from another origin changes
// nothing; a revoked key is refused by the gateway at once; a quarantined
// model is answered with 503; every login, refusal and change is in the
// audit log, and an event's proof checks.
func TestConsole(t *testing.T) {
	f := newFixture(t)
	b := newBrowser(t)

	resp, _ := b.do("GET", f.ui()+"keys", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/login?next=%2Fui%2Fkeys") {
		t.Fatalf("a page without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := b.do("POST", f.ui()+"login", url.Values{"key": {f.appKey}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "admin scope") || len(resp.Cookies()) != 0 {
		t.Fatalf("a key without the admin scope: %d %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ = b.do("POST", f.ui()+"login", url.Values{"key": {"mg_aaaaaaaaaaaa_" + strings.Repeat("b", 52)}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a made-up key: %d", resp.StatusCode)
	}
	resp, _ = b.do("POST", f.ui()+"login", url.Values{"key": {f.adminKey}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/ui/" || len(cookie.Value) < 40 {
		t.Fatalf("session cookie %+v", cookie)
	}

	for _, p := range []string{"", "inventory", "models", "keys", "routes", "audit", "alerts", "redteam", "threats", "feedback"} {
		resp, page := b.do("GET", f.ui()+p, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Log out") {
			t.Fatalf("/ui/%s: %d\n%.300s", p, resp.StatusCode, page)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("/ui/%s: CSP %q", p, csp)
		}
	}
	_, page = b.do("GET", f.ui(), nil)
	if resp, _ := b.do("POST", f.ui()+"refresh", url.Values{"csrf": {csrf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("recompute: %d", resp.StatusCode)
	}
	_, page = b.do("GET", f.ui(), nil)
	for _, want := range []string{"KRI-MTTD-ALERT", "KRI-GUARDED", "KRI-SIGNED", "100.0%"} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %s", want)
		}
	}
	_, page = b.do("GET", f.ui()+"routes", nil)
	if !strings.Contains(page, "injection") {
		t.Errorf("the routes page does not name the guards:\n%.600s", page)
	}

	// Changes without the token, with a wrong one, or from elsewhere.
	_, keys := b.do("GET", f.ui()+"keys", nil)
	token := csrf(t, keys)
	other := newBrowser(t)
	other.do("POST", f.ui()+"login", url.Values{"key": {f.adminKey}})
	_, otherPage := other.do("GET", f.ui()+"keys", nil)
	otherToken := csrf(t, otherPage)
	for name, attempt := range map[string]struct {
		form   url.Values
		header []string
	}{
		"no token":        {url.Values{"id": {f.appID}, "confirm": {"yes"}}, nil},
		"another session": {url.Values{"id": {f.appID}, "confirm": {"yes"}, "csrf": {otherToken}}, nil},
		"another origin":  {url.Values{"id": {f.appID}, "confirm": {"yes"}, "csrf": {token}}, []string{"Origin", "https://evil.example"}},
		"cross-site":      {url.Values{"id": {f.appID}, "confirm": {"yes"}, "csrf": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
		"null origin":     {url.Values{"id": {f.appID}, "confirm": {"yes"}, "csrf": {token}}, []string{"Origin", "null"}}, // a sandboxed frame's
	} {
		if resp, _ := b.do("POST", f.ui()+"keys/revoke", attempt.form, attempt.header...); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	if resp, _ := b.do("POST", f.ui()+"keys/revoke", url.Values{"id": {f.appID}, "csrf": {token}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a revocation without confirmation: %d", resp.StatusCode)
	}
	if got := f.infer(t); got != http.StatusOK {
		t.Fatalf("the application key after refused attempts: %d", got)
	}

	// The real thing.
	resp, _ = b.do("POST", f.ui()+"keys/revoke", url.Values{"id": {f.appID}, "confirm": {"yes"}, "csrf": {token}}, "Origin", "http://"+f.srv.AdminAddr().String())
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if got := f.infer(t); got != http.StatusUnauthorized {
		t.Fatalf("the gateway after the revocation: %d", got)
	}
	revokes := f.events(t, "key.revoke", 1)
	if len(revokes) != 1 || revokes[0].Actor.ID != "api_key:"+f.adminID || revokes[0].Resource.ID != f.appID {
		t.Fatalf("recorded revocations %+v", revokes)
	}

	// Quarantine, through a fresh key since the old one is revoked.
	resp, _ = b.do("POST", f.ui()+"models/quarantine", url.Values{"ref": {"fraud@1"}, "reason": {"leaks records"}, "confirm": {"yes"}, "csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("quarantine: %d", resp.StatusCode)
	}
	if q := f.events(t, "model.quarantine", 1); len(q) != 1 || q[0].Actor.ID != "api_key:"+f.adminID {
		t.Fatalf("recorded quarantines %+v", q)
	}

	// The audit log: search, then an event's proof.
	_, page = b.do("GET", f.ui()+"audit?action=key.revoke", nil)
	if !strings.Contains(page, "/ui/audit/") || !strings.Contains(page, f.appID) {
		t.Fatalf("search:\n%.800s", page)
	}
	resp, page = b.do("GET", f.ui()+"audit/"+strconv.FormatInt(revokes[0].Index, 10), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Proof checked") {
		t.Fatalf("event %d: %d\n%s", revokes[0].Index, resp.StatusCode, page[strings.Index(page, "<main>"):])
	}
	if resp, _ := b.do("GET", f.ui()+"audit/99999999", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing event: %d", resp.StatusCode)
	}
	if resp, _ := b.do("GET", f.ui()+"audit/x", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad index: %d", resp.StatusCode)
	}

	// Logging out ends the session for good.
	resp, _ = b.do("POST", f.ui()+"logout", url.Values{"csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	replay := newBrowser(t)
	u, _ := url.Parse(f.ui())
	replay.c.Jar.SetCookies(u, []*http.Cookie{cookie})
	if resp, _ := replay.do("GET", f.ui()+"keys", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %d", resp.StatusCode)
	}
	if resp, _ := replay.do("POST", f.ui()+"keys/revoke", url.Values{"id": {f.adminID}, "confirm": {"yes"}, "csrf": {token}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a change with the old cookie: %d", resp.StatusCode)
	}

	logins, denied := f.events(t, "console.login", 2), f.events(t, "admin.denied", 7)
	if len(logins) != 2 || len(denied) < 7 {
		t.Errorf("recorded %d logins and %d refusals", len(logins), len(denied))
	}
	if len(f.events(t, "console.logout", 1)) != 1 {
		t.Error("the logout was not recorded")
	}
}
