package probe

import "testing"

// FuzzAnswers feeds arbitrary answers to what reads them: the admin-API
// recognisers and the error-body patterns.
func FuzzAnswers(f *testing.F) {
	f.Add([]byte(`{"models":[{"modelName":"x"}]}`))
	f.Add([]byte(`[{"name":"m"}]`))
	f.Add([]byte("Traceback (most recent call last):\n  File \"/a.py\", line 1"))
	f.Add([]byte(`{"ray_version":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, api := range adminAPIs {
			api.match(b)
		}
		traceRE.Find(b)
		versionRE.Match(b)
	})
}
