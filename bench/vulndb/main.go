// Command vulndb measures the offline vulnerability database on a
// generated OSV export the size of PyPI's (25,000 advisories over 9,000
// packages, each with a details text and the enumerated affected versions
// OSV publishes, some with CVSS vectors, aliases and several ranges):
//
//   - importing it, in a child process so that its peak memory (maximum
//     resident set size) is its own; goal: ≤ 15 s and ≤ 200 MB;
//
//   - scanning a poetry.lock of 300 packages (a third of them with
//     advisories): opening the index, reading the lock and judging every
//     package, in process; goal: ≤ 50 ms. Median of 20 runs.
//
//     go run ./bench/vulndb [-advisories 25000] [-packages 9000] [-dir D] [-keep]
package main

import (
	"archive/zip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/modelgate/modelgate/supplychain"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

func main() {
	advisories := flag.Int("advisories", 25000, "advisories in the export")
	packages := flag.Int("packages", 9000, "packages they concern")
	dir := flag.String("dir", "", "work directory (default: a temporary one)")
	keep := flag.Bool("keep", false, "keep the work directory")
	child := flag.String("child-import", "", "internal: import this export into -dir and exit")
	flag.Parse()
	if *child != "" {
		if _, err := vulndb.Import(filepath.Join(*dir, vulndb.FileName), []string{*child}, time.Now()); err != nil {
			log.Fatal(err)
		}
		return
	}
	root := *dir
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "mg-vulndb-"); err != nil {
			log.Fatal(err)
		}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(root)
	}
	export := filepath.Join(root, "PyPI-all.zip")
	names := packageNames(*packages)
	if _, err := os.Stat(export); err != nil {
		if err := generate(export, *advisories, names); err != nil {
			log.Fatal(err)
		}
	}
	fi, _ := os.Stat(export)
	fmt.Printf("export: %d advisories over %d packages, %.1f MB zipped\n\n", *advisories, *packages, float64(fi.Size())/1e6)

	// Import, in a child process, best of three.
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	var best time.Duration
	var rss int64
	for range 3 {
		cmd := exec.Command(self, "-child-import", export, "-dir", root)
		cmd.Stderr = os.Stderr
		began := time.Now()
		if err := cmd.Run(); err != nil {
			log.Fatal(err)
		}
		took := time.Since(began)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if best == 0 || took < best {
			best, rss = took, ru.Maxrss*1024
		}
	}
	idx := filepath.Join(root, vulndb.FileName)
	ifi, _ := os.Stat(idx)
	fmt.Printf("%-44s %10s  peak RSS %4d MB  index %.1f MB   (goals ≤ 15 s, ≤ 200 MB)\n", "import", best.Round(time.Millisecond), rss>>20, float64(ifi.Size())/1e6)

	// A 300-package lock: every third package has advisories.
	lock := filepath.Join(root, "proj", "poetry.lock")
	os.MkdirAll(filepath.Dir(lock), 0o755)
	var sb strings.Builder
	for i := range 300 {
		name := names[i*3%len(names)]
		if i%3 != 0 {
			name = fmt.Sprintf("clean-package-%d", i)
		}
		fmt.Fprintf(&sb, "[[package]]\nname = %q\nversion = \"%d.%d.%d\"\ndescription = \"x\"\noptional = false\npython-versions = \">=3.8\"\n\n", name, 1+i%4, i%20, i%7)
	}
	if err := os.WriteFile(lock, []byte(sb.String()), 0o644); err != nil {
		log.Fatal(err)
	}
	var times []time.Duration
	var found int
	for range 20 {
		began := time.Now()
		db, err := vulndb.Open(idx)
		if err != nil {
			log.Fatal(err)
		}
		files, err := deps.Find([]string{filepath.Dir(lock)})
		if err != nil {
			log.Fatal(err)
		}
		res, err := supplychain.ScanDeps(db, files)
		if err != nil {
			log.Fatal(err)
		}
		found = res.Report().Summary.Findings
		db.Close()
		times = append(times, time.Since(began))
	}
	slices.Sort(times)
	fmt.Printf("%-44s %10s  (%d findings; goal ≤ 50 ms)\n", "scan a 300-package poetry.lock", times[len(times)/2].Round(time.Microsecond), found)
}

func packageNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("package-%05d", i)
	}
	return out
}

// generate writes an OSV export: advisories spread over the packages with
// a long tail (a few packages have hundreds, like PyPI's).
func generate(path string, n int, names []string) error {
	r := rand.New(rand.NewPCG(7, 8))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	details := strings.Repeat("A flaw in the request parser lets a remote attacker cause harm. ", 15)
	for i := range n {
		// Zipf-like: low indexes get most advisories.
		pkg := names[int(float64(len(names))*r.Float64()*r.Float64())]
		major := 1 + r.IntN(4)
		fixedMinor := 1 + r.IntN(20)
		var versions []string
		for m := 0; m < fixedMinor; m++ {
			for p := range 1 + r.IntN(4) {
				versions = append(versions, fmt.Sprintf("%d.%d.%d", major, m, p))
			}
		}
		rec := map[string]any{
			"schema_version": "1.6.0",
			"id":             fmt.Sprintf("PYSEC-2024-%05d", i),
			"modified":       time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour).Format(time.RFC3339),
			"published":      "2023-06-01T00:00:00Z",
			"aliases":        []string{fmt.Sprintf("CVE-2024-%05d", i), fmt.Sprintf("GHSA-%04x-%04x-%04x", i, i*7%65536, i*13%65536)},
			"summary":        "Denial of service in " + pkg,
			"details":        details,
			"affected": []any{map[string]any{
				"package":  map[string]string{"ecosystem": "PyPI", "name": pkg, "purl": "pkg:pypi/" + pkg},
				"ranges":   []any{map[string]any{"type": "ECOSYSTEM", "events": []map[string]string{{"introduced": fmt.Sprintf("%d.0.0", major)}, {"fixed": fmt.Sprintf("%d.%d.0", major, fixedMinor)}}}},
				"versions": versions,
			}},
			"references": []any{map[string]string{"type": "ADVISORY", "url": "https://example.com/advisory/" + fmt.Sprint(i)}},
		}
		if i%2 == 0 {
			rec["severity"] = []any{map[string]string{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}
		}
		w, err := zw.Create(fmt.Sprintf("PYSEC-2024-%05d.json", i))
		if err != nil {
			return err
		}
		if err := json.NewEncoder(w).Encode(rec); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
