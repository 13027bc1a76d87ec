package kri

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/inventory"
	"github.com/modelgate/modelgate/registry"
)

// Costs price the exposure estimate.
type Costs struct {
	// PerRecordUSD prices one record of personal data at risk; 0 uses
	// PerBreachUSD once for each dataset that holds personal data.
	PerRecordUSD float64
	// PerBreachUSD is the cost of one breach; default DefaultBreachUSD.
	PerBreachUSD float64
}

// DefaultBreachUSD is the global average cost of a data breach in IBM's
// Cost of a Data Breach Report 2025 (Ponemon Institute; 600
// organisations, breaches of March 2024 to February 2025): USD 4.44
// million.
const DefaultBreachUSD = 4_440_000

// CostSource names where the default cost comes from.
const CostSource = "IBM Cost of a Data Breach Report 2025: global average cost of a breach, USD 4.44 million"

// Inputs are the evidence besides the audit log.
type Inputs struct {
	Now, Since time.Time
	Period     time.Duration // of the series
	// Models are the registry's versions; nil when there is no registry.
	Models []*registry.Model
	// Inventory is the newest inventory snapshot, or nil.
	Inventory *inventory.Inventory
	// Guarded says, by model name, whether a route with guards serves
	// it; nil when no gateway configuration was given.
	Guarded map[string]bool
	Costs   Costs
}

// Compute turns the evidence into the report's indicators and risks.
func Compute(ev *Events, in Inputs) *Report {
	if in.Period <= 0 {
		in.Period = 24 * time.Hour
	}
	r := &Report{Generated: in.Now.UTC(), Since: in.Since.UTC(), Period: periodName(in.Period)}
	add := func(ind Indicator) { r.Indicators = append(r.Indicators, ind) }

	// Detection and response.
	var alertDetect, alertRespond []float64
	for _, a := range ev.alerts {
		if !a.firstEvent.IsZero() {
			alertDetect = append(alertDetect, a.raised.Sub(a.firstEvent).Seconds())
		}
		if !a.acked.IsZero() {
			alertRespond = append(alertRespond, a.acked.Sub(a.raised).Seconds())
		}
	}
	add(mean(Indicator{ID: "KRI-MTTD-ALERT", Name: "Mean time to detect (alerts)", Unit: "seconds", Worse: "up",
		Definition: "For each alert raised in the period: the time it was raised minus the time of the earliest event behind it; the mean.",
		Source:     "audit log: alert.raised (observed_at, events) and the events it names"}, alertDetect))
	add(mean(Indicator{ID: "KRI-MTTR-ALERT", Name: "Mean time to acknowledge (alerts)", Unit: "seconds", Worse: "up",
		Definition: "For each alert acknowledged: alert.ack time minus the time it was raised; the mean. Unacknowledged alerts are counted in the breakdown.",
		Source:     "audit log: alert.raised, alert.ack"}, alertRespond))
	if ind := r.Indicator("KRI-MTTR-ALERT"); ind != nil {
		ind.Breakdown = []Part{{Label: "raised", N: len(ev.alerts)}, {Label: "unacknowledged", N: len(ev.alerts) - len(alertRespond)}}
	}

	var incDetect, incResolve []float64
	for _, inc := range ev.incidents {
		var first time.Time
		for _, id := range inc.alerts {
			if a := ev.alerts[id]; a != nil {
				t := a.firstEvent
				if t.IsZero() {
					t = a.raised
				}
				if first.IsZero() || t.Before(first) {
					first = t
				}
			}
		}
		if !first.IsZero() {
			incDetect = append(incDetect, inc.opened.Sub(first).Seconds())
		}
		if !inc.closed.IsZero() {
			incResolve = append(incResolve, inc.closed.Sub(inc.opened).Seconds())
		}
	}
	add(mean(Indicator{ID: "KRI-MTTD-INCIDENT", Name: "Mean time to detect (incidents)", Unit: "seconds", Worse: "up",
		Definition: "For each incident opened from alerts: its opening minus the earliest event behind its alerts; the mean.",
		Source:     "audit log: incident.open (alerts), alert.raised"}, incDetect))
	add(mean(Indicator{ID: "KRI-MTTR-INCIDENT", Name: "Mean time to resolve (incidents)", Unit: "seconds", Worse: "up",
		Definition: "For each incident closed: incident.close minus incident.open; the mean.",
		Source:     "audit log: incident.open, incident.close"}, incResolve))

	var drift []float64
	for _, s := range ev.drift {
		drift = append(drift, s)
	}
	add(mean(Indicator{ID: "KRI-MTTD-DRIFT", Name: "Mean time to detect drift", Unit: "seconds", Worse: "up",
		Definition: "For each drift episode of a route (a distinct onset): the gateway's detection time minus the estimated onset; the mean.",
		Source:     "audit log: inference events with drift_onset and drift_detection_seconds (monitoring.drift)"}, drift))

	var revokeAfter []float64
	for _, rv := range ev.revokes {
		if t, ok := ev.keyAlerts[rv.key]; ok && !rv.at.Before(t) {
			revokeAfter = append(revokeAfter, rv.at.Sub(t).Seconds())
		}
	}
	add(mean(Indicator{ID: "KRI-MTTREVOKE", Name: "Mean time to revoke an abused key", Unit: "seconds", Worse: "up",
		Definition: "For each key revoked after an alert about it: the revocation minus that key's first alert; the mean.",
		Source:     "audit log: alert.raised (by key), key.revoke"}, revokeAfter))

	// Coverage.
	coverage(r, in)

	// Findings.
	findings(r, in, ev)

	// Red team.
	redteamIndicator(r, ev)

	// Guards.
	blocks := Indicator{ID: "KRI-GUARD-BLOCKS", Name: "Guard block rate", Unit: "share", Worse: "up",
		Definition: "Inference requests refused by a guard (request_blocked, response_blocked) over all inference requests.",
		Source:     "audit log: inference events", N: ev.inference}
	if ev.inference > 0 {
		blocks.Value, blocks.Known = float64(ev.blocked)/float64(ev.inference), true
		blocks.Series = series(ev.inferDay, in.Since, in.Period)
	}
	add(blocks)

	// Feedback.
	fb := Indicator{ID: "KRI-NEGATIVE-FEEDBACK", Name: "Negative feedback rate", Unit: "share", Worse: "up",
		Definition: "Feedback with a negative rating over all feedback, overall and per model version.",
		Source:     "audit log: feedback.submit"}
	var all, neg int
	for v, c := range ev.feedback {
		all, neg = all+c[0], neg+c[1]
		fb.Breakdown = append(fb.Breakdown, Part{Label: v, Value: float64(c[1]) / float64(c[0]), N: c[0]})
	}
	slices.SortFunc(fb.Breakdown, func(a, b Part) int { return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.Label, b.Label)) })
	if all > 0 {
		fb.Value, fb.Known, fb.N = float64(neg)/float64(all), true, all
	}
	add(fb)

	exposure(r, in)
	r.TopRisks = risks(r)
	return r
}

// mean fills in an indicator's mean of values.
func mean(ind Indicator, values []float64) Indicator {
	ind.N = len(values)
	if len(values) == 0 {
		return ind
	}
	var sum float64
	for _, v := range values {
		sum += v
	}
	ind.Value, ind.Known = sum/float64(len(values)), true
	return ind
}

// series turns per-period counts (total, hits) into a share per period.
func series(counts map[int64][2]int, start time.Time, period time.Duration) []Point {
	var keys []int64
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []Point
	for _, k := range keys {
		c := counts[k]
		out = append(out, Point{Start: start.Add(time.Duration(k) * period).UTC(), Value: float64(c[1]) / float64(max(c[0], 1)), N: c[0]})
	}
	return out
}

func periodName(p time.Duration) string {
	if p >= 7*24*time.Hour {
		return "week"
	}
	return "day"
}

// latest returns the newest version of each model name.
func latest(models []*registry.Model) []*registry.Model {
	byName := map[string]*registry.Model{}
	for _, m := range models {
		if cur := byName[m.Name]; cur == nil || m.CreatedAt.After(cur.CreatedAt) {
			byName[m.Name] = m
		}
	}
	out := make([]*registry.Model, 0, len(byName))
	for _, m := range byName {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *registry.Model) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func coverage(r *Report, in Inputs) {
	share := func(id, name, def, source string, n int, hits int, known bool) {
		ind := Indicator{ID: id, Name: name, Definition: def, Source: source, Unit: "share", Worse: "down", N: n}
		if known && n > 0 {
			ind.Value, ind.Known = float64(hits)/float64(n), true
		}
		r.Indicators = append(r.Indicators, ind)
	}
	models := latest(in.Models)
	var signed, scanned, threat, guarded int
	for _, m := range models {
		if m.Signature.Signed && m.Signature.Valid {
			signed++
		}
		if m.Scan.Scanned {
			scanned++
		}
		if m.ThreatModel != "" {
			threat++
		}
		if in.Guarded[m.Name] {
			guarded++
		}
	}
	const regSource = "model registry: the newest version of each model"
	share("KRI-SIGNED", "Models signed", "Models whose newest version carries a valid signature, over all registered models.", regSource, len(models), signed, in.Models != nil)
	share("KRI-SCANNED", "Models scanned", "Models whose newest version was scanned by the model scanner, over all registered models.", regSource, len(models), scanned, in.Models != nil)
	share("KRI-THREAT-MODELLED", "Models threat-modelled", "Models whose newest version names a threat model (registered with --threat-model), over all registered models.", regSource, len(models), threat, in.Models != nil)
	share("KRI-GUARDED", "Models behind a guarded route", "Models served by a gateway route with input and output guards, over all registered models.",
		regSource+" and the gateway configuration", len(models), guarded, in.Models != nil && in.Guarded != nil)
	var invModels, registered int
	if in.Inventory != nil {
		for _, a := range in.Inventory.Assets {
			if a.Kind == inventory.KindModel {
				invModels++
				if a.Status != nil && a.Status.Registered != "" {
					registered++
				}
			}
		}
	}
	share("KRI-INVENTORIED", "Models found that are governed", "Model files the newest inventory snapshot found that belong to a registered version, over all model files it found.",
		"inventory: the newest snapshot", invModels, registered, in.Inventory != nil)
}

func findings(r *Report, in Inputs, ev *Events) {
	ind := Indicator{ID: "KRI-OPEN-FINDINGS", Name: "Open critical and high findings", Unit: "count", Worse: "up",
		Definition: "Critical and high findings on the newest version of each registered model (model scanner, dependency advisories), in the newest inventory snapshot, and in the newest recorded posture scan and threat-model check of each subject.",
		Source:     "model registry (scan, dependencies); inventory snapshot; audit log: findings.report (posture scan --record, threat check --record)"}
	var scanner, deps, inv int
	for _, m := range latest(in.Models) {
		scanner += m.Scan.BySeverity["critical"] + m.Scan.BySeverity["high"]
		if d := m.Dependencies; d != nil {
			deps += d.Affected["critical"] + d.Affected["high"] + d.Malicious
		}
	}
	if in.Inventory != nil {
		for _, a := range in.Inventory.Assets {
			for _, f := range a.Findings {
				if f.Severity >= finding.High {
					inv++
				}
			}
		}
	}
	var posture, threats int
	for _, rep := range ev.reports {
		switch rep.source {
		case "posture":
			posture += rep.critical + rep.high
		case "threat-model":
			threats += rep.critical + rep.high
		}
	}
	if in.Models != nil || in.Inventory != nil || len(ev.reports) > 0 {
		ind.Known = true
		ind.Value = float64(scanner + deps + inv + posture + threats)
		ind.Breakdown = []Part{{Label: "model scanner", Value: float64(scanner)}, {Label: "dependencies", Value: float64(deps)},
			{Label: "inventory", Value: float64(inv)}, {Label: "posture", Value: float64(posture)}, {Label: "threat model", Value: float64(threats)}}
	}
	r.Indicators = append(r.Indicators, ind)
}

func redteamIndicator(r *Report, ev *Events) {
	ind := Indicator{ID: "KRI-REDTEAM-PASS", Name: "Red-team pass rate", Unit: "share", Worse: "down",
		Definition: "One minus the share of attacks that worked (compliance rate), per OWASP LLM 2025 category of the newest run, and per run over time.",
		Source:     "audit log: redteam.run (rate.<category>)", N: len(ev.redteamRuns)}
	runs := slices.Clone(ev.redteamRuns)
	slices.SortStableFunc(runs, func(a, b redteamRun) int { return a.at.Compare(b.at) })
	for _, run := range runs {
		if len(run.rates) == 0 {
			continue
		}
		var sum float64
		for _, v := range run.rates {
			sum += 1 - v
		}
		ind.Series = append(ind.Series, Point{Start: run.at, Value: sum / float64(len(run.rates)), N: len(run.rates)})
	}
	if len(ind.Series) > 0 {
		newest := runs[len(runs)-1]
		ind.Value, ind.Known = ind.Series[len(ind.Series)-1].Value, true
		for cat, rate := range newest.rates {
			label := cat
			if id := newest.owasp[cat]; id != "" {
				label = id + " " + cat
			}
			ind.Breakdown = append(ind.Breakdown, Part{Label: label, Value: 1 - rate})
		}
		slices.SortFunc(ind.Breakdown, func(a, b Part) int { return cmp.Or(cmp.Compare(a.Value, b.Value), cmp.Compare(a.Label, b.Label)) })
	}
	r.Indicators = append(r.Indicators, ind)
}

func exposure(r *Report, in Inputs) {
	c := in.Costs
	if c.PerBreachUSD <= 0 {
		c.PerBreachUSD = DefaultBreachUSD
	}
	ind := Indicator{ID: "KRI-EXPOSURE", Name: "Exposure estimate", Unit: "usd", Worse: "up",
		Source: "inventory: datasets whose columns hold personal data; " + CostSource}
	var records int64
	var datasets int
	if in.Inventory != nil {
		for _, a := range in.Inventory.Assets {
			if a.Kind != inventory.KindDataset {
				continue
			}
			var most int64
			for _, col := range a.Columns {
				if col.Verdict == classify.VerdictPII {
					most = max(most, col.Values)
				}
			}
			if most > 0 {
				datasets++
				records += most
				ind.Breakdown = append(ind.Breakdown, Part{Label: a.Path, Value: float64(most)})
			}
		}
		ind.Known = true
	}
	if c.PerRecordUSD > 0 {
		ind.Definition = fmt.Sprintf("Records of personal data in the estate's datasets (the values found in their personal columns, a lower bound: the inventory reads a sample) times USD %.2f a record.", c.PerRecordUSD)
		ind.Value = float64(records) * c.PerRecordUSD
	} else {
		ind.Definition = fmt.Sprintf("Datasets in the estate holding personal data, each priced as one breach at USD %.0f.", c.PerBreachUSD)
		ind.Value = float64(datasets) * c.PerBreachUSD
	}
	ind.N = datasets
	r.Indicators = append(r.Indicators, ind)
}

// risks ranks the risks the indicators point to, in business terms. The
// scores order them and nothing more: a known exposure of personal data
// first, then attacks that work, open findings, gaps in governance and
// unhappy users.
func risks(r *Report) []Risk {
	var out []Risk
	get := func(id string) *Indicator {
		if ind := r.Indicator(id); ind != nil && ind.Known {
			return ind
		}
		return nil
	}
	if ind := get("KRI-EXPOSURE"); ind != nil && ind.Value > 0 {
		out = append(out, Risk{Title: "Personal data in AI datasets", Impact: "data breach",
			Evidence: fmt.Sprintf("%d datasets with personal data; exposure estimated at USD %s", ind.N, money(ind.Value)),
			Action:   "mask or remove the personal columns (modelgate data mask), and restrict who can read them", Score: 70 + min(30, ind.Value/1e6)})
	}
	if ind := get("KRI-REDTEAM-PASS"); ind != nil && ind.Value < 0.9 {
		var weak []string
		for _, p := range ind.Breakdown {
			if p.Value < 0.9 {
				weak = append(weak, fmt.Sprintf("%s %.0f%%", p.Label, 100*p.Value))
			}
		}
		out = append(out, Risk{Title: "Attacks on the models succeed", Impact: "data breach, fraud loss, brand damage",
			Evidence: fmt.Sprintf("red-team pass rate %.0f%%; weakest: %s", 100*ind.Value, strings.Join(weak[:min(3, len(weak))], ", ")),
			Action:   "turn on the guards for the weak categories and rerun the suite", Score: 100 * (1 - ind.Value)})
	}
	if ind := get("KRI-OPEN-FINDINGS"); ind != nil && ind.Value > 0 {
		out = append(out, Risk{Title: "Critical and high findings left open", Impact: "data breach, service cost",
			Evidence: fmt.Sprintf("%.0f open (%s)", ind.Value, parts(ind.Breakdown)),
			Action:   "fix or quarantine: the gate refuses such versions at promotion", Score: 20 + min(60, 5*ind.Value)})
	}
	for _, id := range []string{"KRI-SIGNED", "KRI-SCANNED", "KRI-THREAT-MODELLED", "KRI-GUARDED", "KRI-INVENTORIED"} {
		if ind := get(id); ind != nil && ind.Value < 1 {
			out = append(out, Risk{Title: ind.Name + ": " + pct(ind.Value), Impact: "compliance, data breach",
				Evidence: fmt.Sprintf("%d of %d", int(ind.Value*float64(ind.N)+0.5), ind.N),
				Action:   "bring the rest under governance", Score: 40 * (1 - ind.Value)})
		}
	}
	if ind := get("KRI-NEGATIVE-FEEDBACK"); ind != nil && ind.Value > 0.05 {
		out = append(out, Risk{Title: "Users flag answers as wrong or harmful", Impact: "brand damage",
			Evidence: fmt.Sprintf("%.1f%% negative of %d", 100*ind.Value, ind.N), Action: "review the flagged answers (modelgate feedback export)", Score: 50 * ind.Value})
	}
	if ind := get("KRI-MTTR-ALERT"); ind != nil && ind.Value > 24*3600 {
		out = append(out, Risk{Title: "Alerts wait more than a day", Impact: "data breach",
			Evidence: "mean time to acknowledge " + Duration(ind.Value), Action: "route alerts to an on-call channel", Score: 30})
	}
	slices.SortStableFunc(out, func(a, b Risk) int { return cmp.Compare(b.Score, a.Score) })
	return out[:min(5, len(out))]
}

func parts(ps []Part) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s %.0f", p.Label, p.Value))
	}
	return strings.Join(s, ", ")
}

func pct(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

// money formats dollars with thousands separators.
func money(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Duration formats seconds for people.
func Duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", sec)
	case d < time.Hour:
		return fmt.Sprintf("%.1f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}
