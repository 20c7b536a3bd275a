package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

// The metrics page and the Grafana dashboard name exactly the series the
// gateway exports: every series is documented, nothing documented or
// charted is missing.
func TestMetricsDocsAndDashboard(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := gatewayOver(t, metricsConfig, map[string]string{"UP": up, "DOWN": up})
	names := gw.metrics.Names()
	if len(names) < 20 {
		t.Fatalf("only %d series registered: %v", len(names), names)
	}
	series := regexp.MustCompile(`switchboard_[a-z_]+`)
	known := func(n string) bool {
		for _, suffix := range []string{"_bucket", "_sum", "_count", ""} {
			if strings.HasSuffix(n, suffix) && slices.Contains(names, strings.TrimSuffix(n, suffix)) {
				return true
			}
		}
		return false
	}
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, line := range strings.Split(string(page), "\n") {
		if strings.HasPrefix(line, "| `switchboard_") {
			documented[series.FindString(line)] = true
		}
	}
	for _, n := range names {
		if !documented[n] {
			t.Errorf("%s is exported but not in docs/metrics.md's table", n)
		}
	}
	for n := range documented {
		if !slices.Contains(names, n) {
			t.Errorf("docs/metrics.md documents %s, which is not exported", n)
		}
	}
	for _, n := range series.FindAllString(string(page), -1) {
		if !known(n) {
			t.Errorf("docs/metrics.md mentions %s, which is not exported", n)
		}
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana", "switchboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	charted := map[string]bool{}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, target := range p.Targets {
			if strings.Count(target.Expr, "(") != strings.Count(target.Expr, ")") {
				t.Errorf("panel %q: unbalanced query %s", p.Title, target.Expr)
			}
			for _, n := range series.FindAllString(target.Expr, -1) {
				if !known(n) {
					t.Errorf("panel %q queries %s, which is not exported", p.Title, n)
				}
				charted[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	if len(dash.Panels) < 12 || len(charted) < 15 {
		t.Errorf("dashboard %q: %d panels charting %d series", dash.Title, len(dash.Panels), len(charted))
	}
}

// Every relative link in the README and docs points at a file that
// exists, and every #anchor at a heading in it.
func TestDocsLinks(t *testing.T) {
	root := filepath.Join("..", "..")
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	files = append(files, filepath.Join(root, "README.md"))
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a := map[string]bool{}
		b, _ := os.ReadFile(path)
		inCode := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "```") {
				inCode = !inCode
			}
			if inCode || !strings.HasPrefix(line, "#") {
				continue
			}
			h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
			h = regexp.MustCompile("[^a-z0-9 _-]").ReplaceAllString(h, "")
			a[strings.ReplaceAll(h, " ", "-")] = true
		}
		anchors[path] = a
		return a
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, m := range link.FindAllStringSubmatch(string(b), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			full := f
			if path != "" {
				full = filepath.Join(filepath.Dir(f), path)
				if _, err := os.Stat(full); err != nil {
					t.Errorf("%s links to %s, which does not exist", filepath.Base(f), target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(full, ".md") && !anchorsOf(full)[anchor] {
				t.Errorf("%s links to %s: no such heading", filepath.Base(f), target)
			}
		}
	}
}
