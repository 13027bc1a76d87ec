package inventory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
	"github.com/modelgate/modelgate/supplychain"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

// Evidence is what modelgate knows that an inventory is joined to.
type Evidence struct {
	// Models are the registry's versions, every model's.
	Models []*registry.Model
	// Routes are the gateway's routes.
	Routes []*store.Route
	// Calls counts inference events by route (public model name).
	Calls map[string]Calls
	// Scanner, when set, scans every model file found.
	Scanner *modelscan.Scanner
	// VulnDB, when set, checks the Python packages declared in the
	// estate: each python-deps asset gets the vulnerability findings of
	// its packages (its patch status).
	VulnDB *vulndb.DB
	// Sources name what the evidence came from, for the report.
	Sources []string
}

// Calls is what the audit log shows of a route's use.
type Calls struct {
	N    int64
	Last time.Time
}

var (
	refsSupplyChain = []string{"LLM03", "AML.T0010"}
	refsPoisoning   = []string{"LLM04", "AML.T0018"}
)

// registered is a registry version a file belongs to.
type registered struct {
	model *registry.Model
	file  registry.File
}

// Assess joins the inventory to the evidence: each model file's registry
// version, stage and signature, a scan verdict, the routes serving it and
// their calls; and adds the findings the guides ask for: models that are
// unknown to the registry, unsigned, unscanned, or changed since they were
// registered.
func (inv *Inventory) Assess(ctx context.Context, ev Evidence) error {
	byPath := map[string][]registered{}
	byDigest := map[string][]registered{}
	for _, m := range ev.Models {
		single := len(m.Manifest.Files) == 1 && !isDir(m.Path)
		for _, f := range m.Manifest.Files {
			p := filepath.Join(m.Path, filepath.FromSlash(f.Name))
			if single {
				p = m.Path
			}
			r := registered{m, f}
			byPath[p] = append(byPath[p], r)
			if f.SHA256 != "" {
				byDigest["sha256:"+f.SHA256] = append(byDigest["sha256:"+f.SHA256], r)
			}
		}
	}
	scans := inv.scanModels(ctx, ev.Scanner)
	for i := range inv.Assets {
		a := &inv.Assets[i]
		switch a.Kind {
		case KindModel:
			st := &Status{}
			a.Status = st
			if err := matchRegistry(a, st, byPath, byDigest); err != nil {
				inv.Stats.Errors = append(inv.Stats.Errors, PathError{Path: a.Path, Error: err.Error()})
			}
			if s, ok := scans[a.Path]; ok {
				st.Scan, st.ScanHighest = s.verdict, s.highest
				if s.finding != nil {
					a.Findings = append(a.Findings, *s.finding)
				}
			}
			routeStatus(a, st, ev)
			modelFindings(a, st)
		case KindPackages:
			if ev.VulnDB != nil {
				if err := packageFindings(a, ev.VulnDB); err != nil {
					return err
				}
			}
		case KindServing, KindCode, KindNotebook:
			st := &Status{}
			routeStatus(a, st, ev)
			if len(st.Routes) > 0 {
				a.Status = st
			}
		}
	}
	inv.Assessed = true
	inv.Sources = ev.Sources
	return ctx.Err()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// matchRegistry finds the registry version a model file belongs to: by
// its path (then checking its digest, so that a file replaced after it
// was registered is not taken for the registered one), or by its digest
// (a copy of a registered file elsewhere).
func matchRegistry(a *Asset, st *Status, byPath, byDigest map[string][]registered) error {
	abs, err := filepath.Abs(a.Path)
	if err != nil {
		return err
	}
	cands := byPath[abs]
	if len(cands) > 0 && a.Digest == "" {
		want := cands[len(cands)-1].file
		if want.SHA256 != "" || len(want.Shards) > 0 {
			if a.Digest, err = digestPath(abs); err != nil {
				return err
			}
		}
	}
	var match *registered
	for i := len(cands) - 1; i >= 0 && match == nil; i-- {
		if sameContent(cands[i].file, a) {
			match = &cands[i]
		}
	}
	if match == nil && len(cands) > 0 {
		st.Changed = true
		match = &cands[len(cands)-1]
	}
	if match == nil && a.Digest != "" {
		if ds := byDigest[a.Digest]; len(ds) > 0 {
			match = &ds[len(ds)-1]
		}
	}
	if match == nil {
		return nil
	}
	m := match.model
	st.Registered = m.Ref()
	st.Stage = string(m.Stage)
	st.Signature = m.Signature.Status()
	if m.Scan.Scanned && st.Scan == "" {
		st.Scan, st.ScanHighest = registryScanVerdict(m.Scan)
	}
	return nil
}

// sameContent reports whether a file on disk is the one registered: the
// digest of a single-shard file, or the size of a sharded one (whose
// shards the registry keeps, not the file's digest).
func sameContent(f registry.File, a *Asset) bool {
	if f.SHA256 != "" {
		return a.Digest == "sha256:"+f.SHA256
	}
	return f.Size == a.Size
}

func digestPath(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

func registryScanVerdict(s registry.ScanSummary) (verdict, highest string) {
	for _, sev := range []string{"critical", "high", "medium", "low", "info"} {
		if s.BySeverity[sev] > 0 && highest == "" {
			highest = sev
		}
	}
	switch {
	case s.Errors > 0:
		return "error", highest
	case highest != "" && highest != "info":
		return "findings", highest
	}
	return "clean", highest
}

// routeStatus finds the routes that serve what an asset names: a route
// to the asset's registry model, or whose public or upstream model name
// is the asset's name or one of the models it names.
func routeStatus(a *Asset, st *Status, ev Evidence) {
	names := map[string]bool{a.Name: true}
	for m := range strings.SplitSeq(a.Attrs["models"], ",") {
		if m != "" {
			names[m] = true
		}
	}
	regName, _, _ := strings.Cut(st.Registered, "@")
	for _, r := range ev.Routes {
		if regName != "" && r.Registry == regName && st.Stage == string(registry.Production) ||
			names[r.Model] || r.Upstream.Model != "" && names[r.Upstream.Model] {
			st.Routes = append(st.Routes, r.Model)
			c := ev.Calls[r.Model]
			st.Calls += c.N
			if c.Last.After(st.LastCall) {
				st.LastCall = c.Last
			}
		}
	}
	slices.Sort(st.Routes)
}

func modelFindings(a *Asset, st *Status) {
	add := func(id string, sev finding.Severity, title, remediation string, refs []string) {
		a.Findings = append(a.Findings, finding.Finding{RuleID: id, Severity: sev, Title: title, Location: a.Path,
			Remediation: remediation, References: refs})
	}
	serving := len(st.Routes) > 0 || st.Stage == string(registry.Production)
	switch {
	case st.Registered == "":
		add("INV-MODEL-UNKNOWN", finding.Medium, "model is not in the registry",
			"register it (modelgate models register) so that it is scanned, signed and gated, or remove it", refsSupplyChain)
	case st.Changed:
		add("INV-MODEL-CHANGED", finding.High, "model file differs from the registered version "+st.Registered,
			"treat the file as untrusted: find who changed it, restore the registered file or register the new one", refsPoisoning)
	}
	if st.Registered != "" && st.Signature != "valid" {
		sev := finding.Medium
		if serving || st.Signature == "invalid" {
			sev = finding.High
		}
		add("INV-MODEL-UNSIGNED", sev, "model signature is "+st.Signature,
			"sign the model (modelgate sign) and register the signature", refsSupplyChain)
	}
	if st.Scan == "" {
		add("INV-MODEL-UNSCANNED", finding.Medium, "model has not been scanned",
			"scan it (modelgate scan model) before it is loaded anywhere", refsSupplyChain)
	}
}

// scanVerdict is the model scanner's verdict on one file.
type scanVerdict struct {
	verdict, highest string
	finding          *finding.Finding
}

// scanModels runs the model scanner over every model file found, two at a
// time per CPU.
func (inv *Inventory) scanModels(ctx context.Context, s *modelscan.Scanner) map[string]scanVerdict {
	out := map[string]scanVerdict{}
	if s == nil {
		return out
	}
	var paths []string
	for _, a := range inv.Assets {
		if a.Kind == KindModel {
			paths = append(paths, a.Path)
		}
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan string)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				v := verdictOf(p, s.ScanFile(p))
				mu.Lock()
				out[p] = v
				mu.Unlock()
			}
		}()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- p
	}
	close(work)
	wg.Wait()
	return out
}

func verdictOf(path string, files []finding.File) scanVerdict {
	rep := &finding.Report{Files: files}
	rep.Summarise()
	v := scanVerdict{verdict: "clean", highest: rep.Summary.Highest}
	var ids []string
	worst := finding.Info
	for _, f := range files {
		if f.Error != "" {
			v.verdict = "error"
		}
		for _, fd := range f.Findings {
			if fd.Severity > finding.Info {
				ids = append(ids, fd.RuleID+" "+fd.Title)
				worst = max(worst, fd.Severity)
			}
		}
	}
	if len(ids) > 0 {
		if v.verdict == "clean" {
			v.verdict = "findings"
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		v.finding = &finding.Finding{RuleID: "INV-MODEL-SCAN", Severity: worst, Title: "the model scanner found problems",
			Location: path, Evidence: strings.Join(ids[:min(len(ids), 5)], "; "),
			Remediation: "run modelgate scan model on it for the details; do not load it until they are resolved",
			References:  refsSupplyChain}
	}
	if v.verdict == "error" && v.finding == nil {
		v.finding = &finding.Finding{RuleID: "INV-MODEL-SCAN", Severity: finding.Medium, Title: "the model scanner could not read the model",
			Location: path, Remediation: "run modelgate scan model on it for the details", References: refsSupplyChain}
	}
	return v
}

// packageFindings judges a python-deps asset's packages against the
// vulnerability database and adds the vulnerability findings (affected,
// possibly affected, malicious) to it; pinning advice stays with scan deps.
func packageFindings(a *Asset, db *vulndb.DB) error {
	f := deps.File{Path: a.Path, Format: "requirements"}
	for _, p := range a.Packages {
		f.Requirements = append(f.Requirements, deps.Requirement{Name: p.Name, Ecosystem: p.Ecosystem, Spec: p.Spec,
			Version: p.Version, Pinned: p.Pinned, Source: p.Source, Kind: deps.Declared})
	}
	res, err := supplychain.ScanDeps(db, []deps.File{f})
	if err != nil {
		return err
	}
	vulnerable := 0
	for _, file := range res.Report().Files {
		for _, fd := range file.Findings {
			if strings.HasPrefix(fd.RuleID, "DEP-VULN") || fd.RuleID == "DEP-MALICIOUS" {
				a.Findings = append(a.Findings, fd)
				vulnerable++
			}
		}
	}
	a.attr("vulnerability_findings", strconv.Itoa(vulnerable))
	return nil
}
