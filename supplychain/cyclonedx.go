package supplychain

import (
	"fmt"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/modelgate/modelgate/registry/bom"
)

// BOM writes the scanned dependencies as CycloneDX 1.6: each package a
// library (its purl exact where a version is known), each advisory that
// applies a vulnerability affecting it, with its rating, aliases and fix.
func (r *Result) BOM(toolVersion string, now time.Time) *cdx.BOM {
	b := cdx.NewBOM()
	b.SerialNumber = "urn:uuid:" + bom.NewSerial()
	b.Metadata = &cdx.Metadata{Timestamp: now.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "modelgate", Version: toolVersion}}}}
	comps := []cdx.Component{}
	var vulns []cdx.Vulnerability
	for i, p := range r.Packages {
		ref := fmt.Sprintf("pkg-%d", i)
		c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version,
			PackageURL: p.PURL(), Properties: &[]cdx.Property{{Name: "modelgate:declared_in", Value: p.Source},
				{Name: "modelgate:kind", Value: p.Kind}, {Name: "modelgate:judged_by", Value: p.JudgedBy}}}
		if p.Spec != "" {
			*c.Properties = append(*c.Properties, cdx.Property{Name: "modelgate:requirement", Value: p.Spec})
		}
		comps = append(comps, c)
		for _, m := range p.Matches {
			a := m.Advisory
			v := cdx.Vulnerability{BOMRef: fmt.Sprintf("%s-%s", ref, a.ID), ID: a.ID, Source: &cdx.Source{Name: "OSV", URL: "https://osv.dev/vulnerability/" + a.ID},
				Description: a.Summary, Affects: &[]cdx.Affects{{Ref: ref}},
				Ratings:    &[]cdx.VulnerabilityRating{{Severity: bom.Severity(severity(a.Severity)), Method: cdx.ScoringMethodOther}},
				Properties: &[]cdx.Property{{Name: "modelgate:verdict", Value: m.Verdict}}}
			if a.CVSS > 0 {
				score, method := a.CVSS, cdx.ScoringMethodCVSSv3
				if strings.HasPrefix(a.Vector, "CVSS:3.1/") {
					method = cdx.ScoringMethodCVSSv31
				}
				(*v.Ratings)[0] = cdx.VulnerabilityRating{Score: &score, Severity: bom.Severity(severity(a.Severity)), Method: method, Vector: a.Vector}
			}
			if len(a.Aliases) > 0 {
				refs := make([]cdx.VulnerabilityReference, 0, len(a.Aliases))
				for _, al := range a.Aliases {
					refs = append(refs, cdx.VulnerabilityReference{ID: al, Source: &cdx.Source{Name: "OSV"}})
				}
				v.References = &refs
			}
			if fixed := a.Fixed(); len(fixed) > 0 {
				v.Recommendation = "upgrade to " + strings.Join(fixed, " or ") + " or later"
			}
			vulns = append(vulns, v)
		}
	}
	b.Components = &comps
	if len(vulns) > 0 {
		b.Vulnerabilities = &vulns
	}
	return b
}
