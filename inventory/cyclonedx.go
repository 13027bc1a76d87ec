package inventory

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/modelgate/modelgate/registry/bom"
)

// BOM writes the inventory as an estate AI-BOM in CycloneDX 1.6: models
// as machine-learning-model components with what their metadata and
// model cards say, datasets as data components with their
// classification, model servers, MCP servers and the AI APIs code calls
// as services, declared Python packages as libraries, findings as
// vulnerabilities, and what uses what as dependencies. AI keys are not
// components; their findings are listed against the file that holds them.
func (inv *Inventory) BOM(toolVersion string) *cdx.BOM {
	b := cdx.NewBOM()
	b.SerialNumber = "urn:uuid:" + bom.NewSerial()
	const estate = "estate"
	b.Metadata = &cdx.Metadata{
		Timestamp: inv.TakenAt.UTC().Format(time.RFC3339),
		Tools: &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: "modelgate",
			Version: toolVersion}}},
		Component: &cdx.Component{BOMRef: estate, Type: cdx.ComponentTypeApplication, Name: "AI estate",
			Description: "AI assets found under " + strings.Join(inv.Roots, ", ")},
	}
	var comps []cdx.Component
	var services []cdx.Service
	var vulns []cdx.Vulnerability
	deps := map[string][]string{}
	refOf := map[string]string{} // asset id → bom-ref
	modelsByName := map[string][]string{}
	apis := map[string]*cdx.Service{}

	for i := range inv.Assets {
		a := &inv.Assets[i]
		ref := string(a.Kind) + ":" + a.ID
		switch a.Kind {
		case KindModel:
			c := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeMachineLearningModel, Name: a.Name,
				Version: a.Attrs["hf_revision"], Hashes: hashes(a), Properties: assetProperties(a)}
			if repo := a.Attrs["hf_repo"]; repo != "" {
				c.PackageURL = hfPURL(repo, a.Attrs["hf_revision"])
			}
			if l := a.Attrs["license"]; l != "" {
				c.Licenses = &cdx.Licenses{{License: &cdx.License{Name: l}}}
			}
			mp := &cdx.MLModelParameters{ArchitectureFamily: a.Attrs["model_type"], ModelArchitecture: a.Attrs["architecture"],
				Task: a.Attrs["pipeline_tag"]}
			if mp.ArchitectureFamily == "" {
				mp.ArchitectureFamily = a.Attrs["architecture"]
			}
			if *mp != (cdx.MLModelParameters{}) {
				c.ModelCard = &cdx.MLModelCard{ModelParameters: mp}
			}
			comps = append(comps, c)
			modelsByName[a.Name] = append(modelsByName[a.Name], ref)
			deps[estate] = append(deps[estate], ref)
		case KindDataset:
			d := cdx.ComponentData{Type: cdx.ComponentDataTypeDataset, Name: a.Name, Classification: a.Attrs["classification"]}
			var sensitive []string
			for _, c := range a.Columns {
				sensitive = append(sensitive, c.Name+": "+c.Verdict)
			}
			if len(sensitive) > 0 {
				d.SensitiveData = &sensitive
			}
			comps = append(comps, cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeData, Name: a.Name,
				Hashes: hashes(a), Data: &[]cdx.ComponentData{d}, Properties: assetProperties(a)})
			deps[estate] = append(deps[estate], ref)
		case KindModelCard, KindCode, KindNotebook:
			comps = append(comps, cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeFile, Name: a.Path,
				Hashes: hashes(a), Properties: assetProperties(a)})
			for _, raw := range strings.Split(a.Attrs["base_urls"], ",") {
				if raw == "" {
					continue
				}
				s := apiService(apis, raw)
				deps[ref] = append(deps[ref], s.BOMRef)
			}
			for _, p := range strings.Split(a.Attrs["providers"], ",") {
				if p != "" && !hasProviderEndpoint(p, deps[ref]) {
					s := apiService(apis, "provider:"+p)
					deps[ref] = append(deps[ref], s.BOMRef)
				}
			}
		case KindServing, KindMCP:
			s := cdx.Service{BOMRef: ref, Name: a.Name, Properties: assetProperties(a)}
			if u := a.Attrs["url"]; u != "" {
				s.Endpoints = &[]string{u}
			}
			services = append(services, s)
			deps[estate] = append(deps[estate], ref)
		case KindPackages:
			for _, p := range a.Packages {
				pref := "pkg:" + a.ID + ":" + p.Ecosystem + "/" + p.Name + "@" + p.Spec
				c := cdx.Component{BOMRef: pref, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version,
					PackageURL: "pkg:" + p.Ecosystem + "/" + p.Name,
					Properties: &[]cdx.Property{{Name: "modelgate:declared_in", Value: p.Source}}}
				if p.Pinned {
					c.PackageURL += "@" + p.Version
				} else {
					*c.Properties = append(*c.Properties, cdx.Property{Name: "modelgate:unpinned", Value: "true"})
				}
				if p.Spec != "" {
					*c.Properties = append(*c.Properties, cdx.Property{Name: "modelgate:requirement", Value: p.Spec})
				}
				comps = append(comps, c)
				deps[estate] = append(deps[estate], pref)
			}
			continue
		case KindKey:
			ref = ""
		}
		refOf[a.ID] = ref
	}
	// A server or code that names a model depends on it.
	for i := range inv.Assets {
		a := &inv.Assets[i]
		ref := refOf[a.ID]
		if ref == "" {
			continue
		}
		for _, m := range strings.Split(a.Attrs["models"], ",") {
			deps[ref] = append(deps[ref], modelsByName[m]...)
		}
	}
	for _, s := range apis {
		services = append(services, *s)
	}
	slices.SortFunc(services, func(a, b cdx.Service) int { return strings.Compare(a.BOMRef, b.BOMRef) })

	n := 0
	for i := range inv.Assets {
		a := &inv.Assets[i]
		affects := refOf[a.ID]
		for _, fd := range a.Findings {
			n++
			v := cdx.Vulnerability{BOMRef: fmt.Sprintf("finding-%d", n), ID: fd.RuleID,
				Source:      &cdx.Source{Name: "modelgate inventory"},
				Ratings:     &[]cdx.VulnerabilityRating{{Severity: bom.Severity(fd.Severity), Method: cdx.ScoringMethodOther}},
				Description: fd.Title, Detail: strings.TrimSpace(a.Path + " " + fd.Location + ": " + fd.Evidence),
				Recommendation: fd.Remediation}
			if affects != "" {
				v.Affects = &[]cdx.Affects{{Ref: affects}}
			}
			v.CWEs = bom.CWEs(fd.References)
			vulns = append(vulns, v)
		}
	}
	b.Components = &comps
	if len(services) > 0 {
		b.Services = &services
	}
	if len(vulns) > 0 {
		b.Vulnerabilities = &vulns
	}
	refs := make([]string, 0, len(deps))
	for r := range deps {
		refs = append(refs, r)
	}
	slices.Sort(refs)
	var ds []cdx.Dependency
	for _, r := range refs {
		on := slices.Compact(slices.Sorted(slices.Values(deps[r])))
		ds = append(ds, cdx.Dependency{Ref: r, Dependencies: &on})
	}
	b.Dependencies = &ds
	return b
}

func hashes(a *Asset) *[]cdx.Hash {
	if d, ok := strings.CutPrefix(a.Digest, "sha256:"); ok {
		return &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: d}}
	}
	return nil
}

// hfPURL is the package URL of a Hugging Face model (the purl type
// "huggingface": the namespace is the owner, the version the revision).
func hfPURL(repo, revision string) string {
	p := "pkg:huggingface/" + repo
	if revision != "" {
		p += "@" + revision
	}
	return p
}

func assetProperties(a *Asset) *[]cdx.Property {
	p := []cdx.Property{{Name: "modelgate:kind", Value: string(a.Kind)}, {Name: "modelgate:path", Value: a.Path}}
	if a.Format != "" {
		p = append(p, cdx.Property{Name: "modelgate:format", Value: a.Format})
	}
	if a.Size > 0 {
		p = append(p, cdx.Property{Name: "modelgate:size", Value: strconv.FormatInt(a.Size, 10)})
	}
	keys := make([]string, 0, len(a.Attrs))
	for k := range a.Attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p = append(p, cdx.Property{Name: "modelgate:" + k, Value: a.Attrs[k]})
	}
	if st := a.Status; st != nil {
		add := func(k, v string) {
			if v != "" {
				p = append(p, cdx.Property{Name: "modelgate:status:" + k, Value: v})
			}
		}
		add("scan", st.Scan)
		add("registered", st.Registered)
		add("stage", st.Stage)
		add("signature", st.Signature)
		add("routes", strings.Join(st.Routes, ","))
		if st.Calls > 0 {
			add("calls", strconv.FormatInt(st.Calls, 10))
		}
	}
	return &p
}

// apiService returns the service for an AI API endpoint (or, for
// "provider:NAME", a provider reached through a client library's default
// endpoint), creating it once.
func apiService(apis map[string]*cdx.Service, raw string) *cdx.Service {
	key := raw
	name := strings.TrimPrefix(raw, "provider:")
	var endpoints *[]string
	if !strings.HasPrefix(raw, "provider:") {
		if u, err := url.Parse(raw); err == nil {
			key, name = u.Scheme+"://"+u.Host, u.Host
			endpoints = &[]string{u.Scheme + "://" + u.Host}
		}
	}
	if s, ok := apis[key]; ok {
		return s
	}
	s := &cdx.Service{BOMRef: "api:" + key, Name: name, Endpoints: endpoints}
	apis[key] = s
	return s
}

func hasProviderEndpoint(provider string, refs []string) bool {
	for _, h := range aiHosts {
		if h.provider != provider {
			continue
		}
		for _, r := range refs {
			if strings.Contains(r, strings.Trim(h.host, ".")) {
				return true
			}
		}
	}
	return false
}
