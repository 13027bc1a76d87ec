// Package console is modelgate's web console: server-rendered pages on
// the admin listener (/ui/) for the people who run the gateway and the
// people they answer to. An administrator logs in with an admin key; the
// session lives in an HttpOnly, SameSite=Strict cookie; every form
// carries the session's CSRF token; every change goes through the same
// code as the admin API and the CLI, and so into the audit log. The
// pages need no script.
package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/config"
	"github.com/modelgate/modelgate/kri"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
)

// Options are what the console shows and acts on.
type Options struct {
	Store    store.Store      // keys and routes
	Audit    store.AuditStore // the audit log, for search, proofs and indicators
	Verifier note.Verifier    // the log's checkpoint key, for proofs
	// Checkpoint, when set, signs a checkpoint of the log as it is now,
	// for an event newer than the latest one.
	Checkpoint func(context.Context) error
	// Registry, when set, lists models and quarantines and rolls them
	// back.
	Registry *registry.Registry
	Recorder admin.ChangeRecorder // records logins and changes
	Auth     *access.Authenticator
	Config   *config.Config // which routes have guards
	Logger   *slog.Logger
	// SessionTTL is how long a login lasts (default 8h).
	SessionTTL time.Duration
	Now        func() time.Time
}

// Actions the console records besides the changes it makes.
const (
	ActionLogin  = "console.login"
	ActionLogout = "console.logout"
)

// Handler serves the console under /ui/.
type Handler struct {
	opts     Options
	mux      *http.ServeMux
	sessions sessions
	log      *slog.Logger

	kriMu         sync.Mutex
	kriAt         time.Time
	kriLast       *kri.Report
	kriViewed     time.Time // when the overview was last looked at
	kriBackground bool
}

// New builds the console.
func New(opts Options) *Handler {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 8 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, mux: http.NewServeMux(), log: opts.Logger, sessions: sessions{ttl: opts.SessionTTL}}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux.HandleFunc("GET /ui/login", h.loginPage)
	h.mux.HandleFunc("POST /ui/login", h.login)
	h.mux.HandleFunc("POST /ui/logout", h.post(h.logout))
	h.mux.HandleFunc("GET /ui/{$}", h.get(h.overview))
	h.mux.HandleFunc("POST /ui/refresh", h.post(h.refresh))
	h.mux.HandleFunc("GET /ui/keys", h.get(h.keys))
	h.mux.HandleFunc("POST /ui/keys/revoke", h.post(h.revokeKey))
	h.mux.HandleFunc("GET /ui/models", h.get(h.models))
	h.mux.HandleFunc("POST /ui/models/quarantine", h.post(h.quarantine))
	h.mux.HandleFunc("POST /ui/models/rollback", h.post(h.rollback))
	h.mux.HandleFunc("GET /ui/routes", h.get(h.routes))
	h.mux.HandleFunc("GET /ui/audit", h.get(h.auditSearch))
	h.mux.HandleFunc("GET /ui/audit/{index}", h.get(h.auditEvent))
	h.mux.HandleFunc("GET /ui/alerts", h.get(h.alerts))
	h.mux.HandleFunc("GET /ui/redteam", h.get(h.redteam))
	h.mux.HandleFunc("GET /ui/threats", h.get(h.threats))
	h.mux.HandleFunc("GET /ui/feedback", h.get(h.feedback))
	h.mux.HandleFunc("GET /ui/inventory", h.get(h.inventory))
	return h
}

// ServeHTTP sets the headers every page gets and serves it.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin") // with no-referrer, browsers send Origin: null on form posts, which sameOrigin refuses
	hd.Set("Cache-Control", "no-store")
	h.mux.ServeHTTP(w, r)
}

type sessionKey struct{}

func sessionOf(ctx context.Context) *session { x, _ := ctx.Value(sessionKey{}).(*session); return x }

// current returns the request's live session, or nil.
func (h *Handler) current(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return h.sessions.get(c.Value, h.opts.Now())
}

// get serves a page to a logged-in administrator; others are sent to
// the login page.
func (h *Handler) get(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := h.current(r)
		if x == nil {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, x)))
	}
}

// post runs a change for a logged-in administrator whose form carries
// the session's CSRF token and comes from this origin.
func (h *Handler) post(fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		x := h.current(r)
		if x == nil {
			h.fail(w, r, http.StatusUnauthorized, "Your session has ended: log in again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, http.StatusBadRequest, "The form could not be read: "+err.Error())
			return
		}
		if !sameOrigin(r) || !x.validCSRF(r.PostForm.Get("csrf")) {
			h.deny(r, x, "csrf")
			h.fail(w, r, http.StatusForbidden, "The form's security token is missing or wrong, or it came from another site; nothing was changed.")
			return
		}
		fn(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, x)))
	}
}

// sameOrigin refuses requests a browser marks as coming from another
// site, or whose Origin is not this host.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// record records a console action (login, logout) in the audit log.
func (h *Handler) record(r *http.Request, p *access.Principal, action, outcome, reason string) error {
	if h.opts.Recorder == nil {
		return nil
	}
	c := admin.ActorOf(r, p)
	c.Action, c.Outcome, c.Reason, c.Details = action, outcome, reason, map[string]string{"via": "console"}
	return h.opts.Recorder.RecordChange(context.WithoutCancel(r.Context()), c)
}

// deny records a refused console request.
func (h *Handler) deny(r *http.Request, x *session, reason string) {
	var p *access.Principal
	if x != nil {
		p = x.principal
	}
	if err := h.record(r, p, admin.ActionDenied, admin.ChangeDenied, reason); err != nil {
		h.log.Error("console: a refusal could not be recorded", "err", err)
	}
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "login", loginView{Next: safeNext(r.URL.Query().Get("next"))})
}

type loginView struct{ Next, Error string }

// safeNext keeps a redirect after login inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) {
		h.fail(w, r, http.StatusBadRequest, "The login form could not be read.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	key := strings.TrimSpace(r.PostForm.Get("key"))
	probe := r.Clone(r.Context())
	probe.Header = http.Header{"Authorization": {"Bearer " + key}}
	probe.TLS = nil // a client certificate does not log in to the console: the key does
	p, err := h.opts.Auth.Authenticate(r.Context(), probe)
	reason := ""
	var ae *access.AuthError
	switch {
	case err != nil && errors.As(err, &ae):
		reason = ae.Code
	case err != nil:
		h.log.Error("console: login check failed", "err", err)
		h.fail(w, r, http.StatusServiceUnavailable, "Credentials cannot be checked right now.")
		return
	case !p.Scopes.Has(access.ScopeAdmin):
		reason = "insufficient_scope"
	}
	if reason != "" {
		h.deny(r, nil, "console_login:"+reason)
		h.render(w, r, http.StatusUnauthorized, "login", loginView{Next: next, Error: "That key does not open the console: it must be a valid key with the admin scope."})
		return
	}
	if err := h.record(r, p, ActionLogin, admin.ChangeAllowed, ""); err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "The login could not be recorded in the audit log, so it was refused.")
		return
	}
	x := h.sessions.create(p, h.opts.Now())
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: x.id, Path: "/ui/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, Expires: x.expires})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	x := sessionOf(r.Context())
	h.sessions.end(x.id)
	if err := h.record(r, x.principal, ActionLogout, admin.ChangeAllowed, ""); err != nil {
		h.log.Error("console: a logout could not be recorded", "err", err)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// fail shows an error page.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", struct{ Message string }{msg})
}
