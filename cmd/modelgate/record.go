package main

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/finding"
)

// actionFindings records a scan's findings in the audit log, by source
// and severity, as evidence for the key risk indicators.
const actionFindings = "findings.report"

// recordFindings appends a summary of a report: which tool (source:
// posture, threat-model), over what (subject), and how many findings of
// each severity. The newest report of a source and subject is what is
// open.
func recordFindings(ctx context.Context, g *globals, source string, subjects []string, rep *finding.Report) error {
	rep.Summarise()
	details := map[string]string{"source": source, "subject": strings.Join(subjects, ","),
		"findings": strconv.Itoa(rep.Summary.Findings), "files": strconv.Itoa(rep.Summary.Files)}
	for sev, n := range rep.Summary.BySeverity {
		details["severity."+sev] = strconv.Itoa(n)
	}
	ev := &audit.Event{Time: time.Now().UTC(), Actor: audit.Actor{Kind: audit.ActorAdmin, ID: cliActor()}, Action: actionFindings,
		Resource: audit.Resource{ID: source + ":" + details["subject"]}, Decision: audit.Decision{Outcome: audit.Allowed}, Details: details}
	_, l, done, err := openLocal(ctx, g)
	if err != nil {
		return err
	}
	defer done()
	return l.Append(ctx, ev)
}
