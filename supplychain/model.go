package supplychain

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

// ModelDependencies checks the Python packages declared beside a model
// against the vulnerability index at DB, for the registry and its gate.
type ModelDependencies struct {
	DB  string
	Now func() time.Time
}

// CheckDependencies implements registry.DependencyChecker. Without an
// index the check is recorded as not done, which the default gate
// refuses: a model whose dependencies nobody checked is not promoted.
func (c ModelDependencies) CheckDependencies(ctx context.Context, modelPath string) (*registry.DependencyCheck, error) {
	files, err := deps.Beside(modelPath)
	if err != nil || len(files) == 0 {
		return nil, err
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	dc := &registry.DependencyCheck{Files: len(files), Affected: map[string]int{}, Possibly: map[string]int{}, At: now().UTC()}
	for _, f := range files {
		dc.Packages += len(f.Requirements)
	}
	db, err := vulndb.Open(c.DB)
	if errors.Is(err, vulndb.ErrNoIndex) {
		dc.Error = err.Error()
		return dc, nil
	}
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res, err := ScanDeps(db, files)
	if err != nil {
		return nil, err
	}
	dc.Checked = true
	dc.Database = "OSV " + db.Meta.Ecosystem + " imported " + db.Meta.ImportedAt.Format(time.RFC3339)
	for _, p := range res.Packages {
		if p.Problem != "" {
			dc.Checked, dc.Error = false, p.Name+": "+p.Problem
		}
		for _, m := range p.Matches {
			switch {
			case m.Advisory.Malicious():
				dc.Malicious++
			case m.Verdict == vulndb.Affected:
				dc.Affected[m.Advisory.Severity]++
			default:
				dc.Possibly[m.Advisory.Severity]++
			}
			dc.Advisories = append(dc.Advisories, m.Advisory.ID)
		}
	}
	slices.Sort(dc.Advisories)
	dc.Advisories = slices.Compact(dc.Advisories)
	return dc, ctx.Err()
}

var _ registry.DependencyChecker = ModelDependencies{}
