package finding

import "slices"

// File is what a scan found in one file (or archive member).
type File struct {
	Path     string    `json:"path"`
	Format   string    `json:"format"`
	SHA256   string    `json:"sha256,omitempty"`
	Findings []Finding `json:"findings"`
	// Error says why the file could not be scanned; such a file is never
	// reported clean.
	Error string `json:"error,omitempty"`
}

// Report is the result of a scan.
type Report struct {
	Files   []File  `json:"files"`
	Summary Summary `json:"summary"`
}

// Summary counts a report.
type Summary struct {
	Files      int            `json:"files"`
	Findings   int            `json:"findings"`
	Errors     int            `json:"errors"`
	BySeverity map[string]int `json:"by_severity"`
	// Highest is the most severe finding's severity, "" when none.
	Highest string `json:"highest,omitempty"`
}

// Summarise fills in the summary from the files, sorted by path.
func (r *Report) Summarise() {
	slices.SortFunc(r.Files, func(a, b File) int {
		switch {
		case a.Path < b.Path:
			return -1
		case a.Path > b.Path:
			return 1
		}
		return 0
	})
	s := Summary{Files: len(r.Files), BySeverity: map[string]int{}}
	highest := -1
	for _, f := range r.Files {
		if f.Error != "" {
			s.Errors++
		}
		for _, fd := range f.Findings {
			s.Findings++
			s.BySeverity[fd.Severity.String()]++
			highest = max(highest, int(fd.Severity))
		}
	}
	if highest >= 0 {
		s.Highest = Severity(highest).String()
	}
	r.Summary = s
}

// Clean reports whether the scan found nothing and every file was read.
func (r *Report) Clean() bool { return r.Summary.Findings == 0 && r.Summary.Errors == 0 }

// Fails reports whether a scan fails at a threshold: a file could not be
// read, or a finding is at least that severe.
func (r *Report) Fails(threshold Severity) bool {
	if r.Summary.Errors > 0 {
		return true
	}
	for _, f := range r.Files {
		for _, fd := range f.Findings {
			if fd.Severity >= threshold {
				return true
			}
		}
	}
	return false
}
