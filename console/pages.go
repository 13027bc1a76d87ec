package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/kri"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/threat"
	"github.com/modelgate/modelgate/threat/diagram"
)

// kriTTL is how long the overview's indicators are reused: computing
// them reads the whole period of the audit log.
const kriTTL = time.Minute

// kriInUse is how long after the overview was last looked at the
// indicators are kept fresh in the background.
const kriInUse = 15 * time.Minute

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) {
	rep, err := h.indicators(r)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "The indicators could not be computed: "+err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "overview", rep)
}

// indicators returns the last 30 days' indicators. The first look after
// a quiet spell computes them while the page waits; while the overview is
// in use, Run keeps them fresh in the background, so later looks do not.
func (h *Handler) indicators(r *http.Request) (*kri.Report, error) {
	now := h.opts.Now()
	h.kriMu.Lock()
	h.kriViewed = now
	last, at := h.kriLast, h.kriAt
	fresh := kriTTL
	if h.kriBackground {
		fresh = 2 * kriTTL // Run recomputes them every kriTTL while they are looked at
	}
	h.kriMu.Unlock()
	if last != nil && now.Sub(at) < fresh {
		return last, nil
	}
	return h.computeIndicators(r.Context())
}

// computeIndicators reads the evidence and keeps the result.
func (h *Handler) computeIndicators(ctx context.Context) (*kri.Report, error) {
	now := h.opts.Now()
	src := kri.Sources{Audit: h.opts.Audit, Config: h.opts.Config, Now: now, Since: now.Add(-30 * 24 * time.Hour)}
	if h.opts.Registry != nil {
		src.Registry = h.opts.Registry.Store
	}
	if h.opts.Config != nil {
		routes, err := h.opts.Store.ListRoutes(ctx)
		if err != nil {
			return nil, err
		}
		src.Routes = routes
	}
	rep, err := kri.Gather(ctx, src)
	if err != nil {
		return nil, err
	}
	h.kriMu.Lock()
	h.kriLast, h.kriAt = rep, now
	h.kriMu.Unlock()
	return rep, nil
}

// Run recomputes the indicators every kriTTL until ctx ends, while the
// overview has been looked at in the last kriInUse: a gateway whose
// console nobody opens does not read its audit log every minute.
func (h *Handler) Run(ctx context.Context) {
	h.kriMu.Lock()
	h.kriBackground = true
	h.kriMu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(kriTTL):
		}
		h.kriMu.Lock()
		inUse := !h.kriViewed.IsZero() && h.opts.Now().Sub(h.kriViewed) < kriInUse
		h.kriMu.Unlock()
		if !inUse {
			continue
		}
		if _, err := h.computeIndicators(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("console: the indicators could not be computed", "err", err)
		}
	}
}

// refresh recomputes the indicators now.
func (h *Handler) refresh(w http.ResponseWriter, r *http.Request) {
	if _, err := h.computeIndicators(r.Context()); err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, "The indicators could not be computed: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/?recomputed=1", http.StatusSeeOther)
}

// local is the key manager acting for the session's administrator.
func (h *Handler) local(r *http.Request) admin.Local {
	return admin.Local{Store: h.opts.Store, Recorder: h.opts.Recorder, Actor: admin.ActorOf(r, sessionOf(r.Context()).principal)}
}

func (h *Handler) keys(w http.ResponseWriter, r *http.Request) {
	keys, err := h.local(r).ListKeys(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	slices.SortStableFunc(keys, func(a, b admin.KeyView) int { return b.CreatedAt.Compare(a.CreatedAt) })
	h.render(w, r, http.StatusOK, "keys", struct {
		Keys []admin.KeyView
		Done string
	}{keys, r.URL.Query().Get("done")})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	id := r.PostForm.Get("id")
	if r.PostForm.Get("confirm") != "yes" {
		h.fail(w, r, http.StatusBadRequest, "Revoking a key needs confirmation: tick the box beside the button.")
		return
	}
	if _, err := h.local(r).RevokeKey(r.Context(), id); err != nil {
		h.fail(w, r, statusOf(err), "The key was not revoked: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/keys?done="+url.QueryEscape("revoked "+id), http.StatusSeeOther)
}

// statusOf maps a change's error to a status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, admin.ErrNotRecorded):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// registryAs is the registry acting for the session's administrator.
func (h *Handler) registryAs(r *http.Request) *registry.Registry {
	reg := *h.opts.Registry
	reg.Actor = sessionOf(r.Context()).principal.String()
	return &reg
}

type modelRow struct {
	*registry.Model
	Findings int
}

func (h *Handler) models(w http.ResponseWriter, r *http.Request) {
	var rows []modelRow
	if h.opts.Registry != nil {
		all, err := h.opts.Registry.Store.ListModels(r.Context(), "")
		if err != nil {
			h.fail(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
		for _, m := range all {
			rows = append(rows, modelRow{Model: m, Findings: m.Scan.BySeverity["critical"] + m.Scan.BySeverity["high"]})
		}
		slices.SortFunc(rows, func(a, b modelRow) int { return cmp.Or(cmp.Compare(a.Name, b.Name), b.CreatedAt.Compare(a.CreatedAt)) })
	}
	h.render(w, r, http.StatusOK, "models", struct {
		Models  []modelRow
		Enabled bool
		Done    string
	}{rows, h.opts.Registry != nil, r.URL.Query().Get("done")})
}

func (h *Handler) quarantine(w http.ResponseWriter, r *http.Request) {
	if h.opts.Registry == nil {
		h.fail(w, r, http.StatusNotFound, "This gateway has no model registry.")
		return
	}
	ref, reason := r.PostForm.Get("ref"), strings.TrimSpace(r.PostForm.Get("reason"))
	if r.PostForm.Get("confirm") != "yes" || reason == "" {
		h.fail(w, r, http.StatusBadRequest, "Quarantine needs a reason and confirmation: the gateway will answer 503 for this version.")
		return
	}
	if _, err := h.registryAs(r).Quarantine(r.Context(), ref, reason); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The version was not quarantined: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/models?done="+url.QueryEscape("quarantined "+ref), http.StatusSeeOther)
}

func (h *Handler) rollback(w http.ResponseWriter, r *http.Request) {
	if h.opts.Registry == nil {
		h.fail(w, r, http.StatusNotFound, "This gateway has no model registry.")
		return
	}
	name := r.PostForm.Get("name")
	if r.PostForm.Get("confirm") != "yes" {
		h.fail(w, r, http.StatusBadRequest, "Rollback needs confirmation.")
		return
	}
	m, err := h.registryAs(r).Rollback(r.Context(), name)
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, "No rollback: "+err.Error())
		return
	}
	http.Redirect(w, r, "/ui/models?done="+url.QueryEscape("rolled back to "+m.Ref()), http.StatusSeeOther)
}

type routeRow struct {
	*store.Route
	Input, Output []string
}

func (h *Handler) routes(w http.ResponseWriter, r *http.Request) {
	all, err := h.opts.Store.ListRoutes(r.Context())
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	var rows []routeRow
	for _, rt := range all {
		row := routeRow{Route: rt}
		if h.opts.Config != nil {
			row.Input, row.Output = h.opts.Config.RouteGuards(rt)
		}
		rows = append(rows, row)
	}
	h.render(w, r, http.StatusOK, "routes", struct {
		Routes []routeRow
		Known  bool
	}{rows, h.opts.Config != nil})
}

// auditView is a page of the audit search.
type auditView struct {
	Action, Actor, Model, Outcome string
	Window                        window // the period searched
	Events                        []*audit.Event
	Limit                         int
}

func (h *Handler) auditSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := auditView{Action: q.Get("action"), Actor: q.Get("actor"), Model: q.Get("model"), Outcome: q.Get("outcome"), Limit: 100}
	var since time.Time
	since, v.Window = h.window(r)
	err := audit.Query(r.Context(), h.opts.Audit, audit.Filter{Action: v.Action, ActorID: v.Actor, Model: v.Model, Outcome: v.Outcome, Since: since, Descending: true, Limit: v.Limit},
		func(ev *audit.Event, _ *store.AuditLeaf) error {
			v.Events = append(v.Events, ev)
			return nil
		})
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "audit", v)
}

// eventView is one event with the check of its inclusion proof.
type eventView struct {
	Event  *audit.Event
	JSON   string
	Proof  string // what the check found
	Proven bool
}

func (h *Handler) auditEvent(w http.ResponseWriter, r *http.Request) {
	index, err := strconv.ParseInt(r.PathValue("index"), 10, 64)
	if err != nil || index < 0 {
		h.fail(w, r, http.StatusBadRequest, "An event is named by its index, a number.")
		return
	}
	var v eventView
	if h.opts.Verifier == nil {
		v.Proof = "no checkpoint key: the proof cannot be checked here"
	} else if p, err := h.proof(r.Context(), index); err != nil {
		v.Proof = "no proof: " + err.Error()
	} else if ev, err := audit.VerifyProof(p, h.opts.Verifier); err != nil {
		v.Proof = "the proof does not verify: " + err.Error()
	} else {
		v.Event, v.Proven = ev, true
		v.Proof = fmt.Sprintf("included in the signed checkpoint of tree size %d", p.TreeSize)
	}
	if v.Event == nil {
		err := audit.Query(r.Context(), h.opts.Audit, audit.Filter{FromIndex: index, Limit: 1}, func(ev *audit.Event, _ *store.AuditLeaf) error {
			if ev.Index == index {
				v.Event = ev
			}
			return nil
		})
		if err != nil || v.Event == nil {
			h.fail(w, r, http.StatusNotFound, fmt.Sprintf("No event %d in the log.", index))
			return
		}
	}
	v.JSON = string(v.Event.Canonical())
	h.render(w, r, http.StatusOK, "event", v)
}

// proof proves an event against the latest checkpoint, signing a newer
// one first when the latest does not cover it.
func (h *Handler) proof(ctx context.Context, index int64) (*audit.Proof, error) {
	p, err := audit.BuildProof(ctx, h.opts.Audit, h.opts.Verifier, index)
	if err != nil && h.opts.Checkpoint != nil {
		if cerr := h.opts.Checkpoint(ctx); cerr != nil {
			return nil, fmt.Errorf("%v; signing a newer checkpoint failed: %w", err, cerr)
		}
		p, err = audit.BuildProof(ctx, h.opts.Audit, h.opts.Verifier, index)
	}
	return p, err
}

// window is a period a list or search may cover; the store skips older
// batches of the log by their time, so a shorter one is faster.
type window struct {
	Name  string
	span  time.Duration // 0: the whole log
	Label string
}

var windows = []window{{"1d", 24 * time.Hour, "in the last day"}, {"7d", 7 * 24 * time.Hour, "in the last 7 days"},
	{"30d", 30 * 24 * time.Hour, "in the last 30 days"}, {"all", 0, "in the whole log"}}

// window reads the page's period (?window=), 7 days by default.
func (h *Handler) window(r *http.Request) (since time.Time, w window) {
	w = windows[1]
	if i := slices.IndexFunc(windows, func(w window) bool { return w.Name == r.URL.Query().Get("window") }); i >= 0 {
		w = windows[i]
	}
	if w.span == 0 {
		return time.Time{}, w
	}
	return h.opts.Now().Add(-w.span), w
}

// recent lists the newest events of an action in the page's window.
func (h *Handler) recent(r *http.Request, action string, limit int) ([]*audit.Event, error) {
	var out []*audit.Event
	since, _ := h.window(r)
	err := audit.Query(r.Context(), h.opts.Audit, audit.Filter{Action: action, Since: since, Descending: true, Limit: limit}, func(ev *audit.Event, _ *store.AuditLeaf) error {
		out = append(out, ev)
		return nil
	})
	return out, err
}

func (h *Handler) alerts(w http.ResponseWriter, r *http.Request) {
	// One pass over the window for both: the log is read once.
	var alerts, incidents []*audit.Event
	since, _ := h.window(r)
	err := audit.Query(r.Context(), h.opts.Audit, audit.Filter{Actions: []string{"alert.raised", "incident."}, Since: since, Descending: true},
		func(ev *audit.Event, _ *store.AuditLeaf) error {
			switch {
			case ev.Action == "alert.raised" && len(alerts) < 200:
				alerts = append(alerts, ev)
			case ev.Action != "alert.raised" && len(incidents) < 200:
				incidents = append(incidents, ev)
			}
			if len(alerts) == 200 && len(incidents) == 200 {
				return errEnough
			}
			return nil
		})
	if err != nil && !errors.Is(err, errEnough) {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "alerts", struct{ Alerts, Incidents []*audit.Event }{alerts, incidents})
}

// errEnough stops a scan that has what it needs.
var errEnough = errors.New("enough")

func (h *Handler) redteam(w http.ResponseWriter, r *http.Request) {
	runs, err := h.recent(r, "redteam.run", 100)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "redteam", runs)
}

func (h *Handler) feedback(w http.ResponseWriter, r *http.Request) {
	fb, err := h.recent(r, "feedback.submit", 200)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "feedback", fb)
}

func (h *Handler) inventory(w http.ResponseWriter, r *http.Request) {
	inv, err := kri.LatestSnapshot(r.Context(), h.opts.Audit)
	if err != nil {
		h.fail(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.render(w, r, http.StatusOK, "inventory", inv)
}

// threatRow is a model version's threat model, drawn when its file can
// be read.
type threatRow struct {
	Model   string
	Ref     string
	Diagram template.HTML
	Problem string
}

func (h *Handler) threats(w http.ResponseWriter, r *http.Request) {
	var rows []threatRow
	if h.opts.Registry != nil {
		all, err := h.opts.Registry.Store.ListModels(r.Context(), "")
		if err != nil {
			h.fail(w, r, http.StatusServiceUnavailable, err.Error())
			return
		}
		seen := map[string]bool{}
		for _, m := range all {
			if m.ThreatModel == "" || seen[m.ThreatModel] {
				continue
			}
			seen[m.ThreatModel] = true
			rows = append(rows, drawThreatModel(m.Ref(), m.ThreatModel))
		}
	}
	h.render(w, r, http.StatusOK, "threats", rows)
}

// drawThreatModel reads a threat model file and draws its data flows
// with our own layout (package threat/diagram).
func drawThreatModel(model, ref string) threatRow {
	row := threatRow{Model: model, Ref: ref}
	f, err := os.Open(ref)
	if err != nil {
		row.Problem = "the file cannot be read here: " + err.Error()
		return row
	}
	defer f.Close()
	tm, err := threat.Parse(ref, io.LimitReader(f, 4<<20))
	if err != nil {
		row.Problem = err.Error()
		return row
	}
	var b strings.Builder
	if err := diagram.SVG(&b, tm, diagram.Marks{}); err != nil {
		row.Problem = err.Error()
		return row
	}
	row.Diagram = template.HTML(b.String()) // our own SVG writer escapes every name it draws
	return row
}
