// Package paper regenerates the tables of paper.md from results/.
//
// paper.md marks each generated block with a pair of HTML comments:
//
//	<!-- gen:NAME -->
//	...generated markdown...
//	<!-- /gen:NAME -->
//
// Render replaces the inside of every block with the output of the generator
// NAME, reading the JSON files the benchmark suite, the chaos suite and the
// simulator wrote. It fails when a generator's input file is missing, when a
// block names an unknown generator, or when the paper cites a results/ file
// (a figure, say) that does not exist: a paper must never quote a result that
// cannot be reproduced from the tree. It also fails when the benchmark files
// it quotes come from different runs of the suite (onerun.go) and when the
// simulator's calibration does not belong with them (calibcheck.go).
package paper

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// generator renders one block from the results directory.
type generator func(results string) (string, error)

var generators = map[string]generator{
	"limits":   genLimits,
	"smtp":     genSMTP,
	"pop":      genPOP,
	"targets":  genTargets,
	"chaos":    genChaos,
	"sim":      genSim,
	"peers":    genPeers,
	"headline": genHeadline,
}

var (
	blockRE = regexp.MustCompile(`(?s)<!-- gen:([a-z-]+) -->\n.*?<!-- /gen:([a-z-]+) -->`)
	citeRE  = regexp.MustCompile(`\bresults/[A-Za-z0-9_./-]+\.(?:svg|png|json|md|txt)`)
)

// Render returns paper with every generated block rebuilt from the results
// directory; root is the directory that cited "results/..." paths are
// relative to.
func Render(paper, root string) (string, error) {
	var firstErr error
	out := blockRE.ReplaceAllStringFunc(paper, func(block string) string {
		m := blockRE.FindStringSubmatch(block)
		name := m[1]
		if m[2] != name {
			setErr(&firstErr, fmt.Errorf("block gen:%s closed by /gen:%s", name, m[2]))
			return block
		}
		gen, ok := generators[name]
		if !ok {
			setErr(&firstErr, fmt.Errorf("unknown generator %q", name))
			return block
		}
		body, err := gen(filepath.Join(root, "results"))
		if err != nil {
			setErr(&firstErr, fmt.Errorf("gen:%s: %w", name, err))
			return block
		}
		return "<!-- gen:" + name + " -->\n" + strings.TrimRight(body, "\n") + "\n<!-- /gen:" + name + " -->"
	})
	if firstErr != nil {
		return "", firstErr
	}
	out, err := renderInline(out, filepath.Join(root, "results"))
	if err != nil {
		return "", err
	}
	if err := checkCitations(out, root); err != nil {
		return "", err
	}
	return out, checkOneRun(out, root)
}

func setErr(dst *error, err error) {
	if *dst == nil {
		*dst = err
	}
}

// checkCitations fails on any cited results/ file that does not exist.
func checkCitations(paper, root string) error {
	for _, p := range citeRE.FindAllString(paper, -1) {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			return fmt.Errorf("paper cites %s, which is missing: %w", p, err)
		}
	}
	return nil
}

// object is a decoded JSON object.
type object = map[string]any

func load(results, name string) (object, error) {
	data, err := os.ReadFile(filepath.Join(results, name))
	if err != nil {
		return nil, err
	}
	var o object
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return o, nil
}

// get walks a path of object keys and array indexes ("runs", "0", ...).
func get(o any, path ...string) any {
	for _, k := range path {
		switch v := o.(type) {
		case object:
			o = v[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i < 0 || i >= len(v) {
				return nil
			}
			o = v[i]
		default:
			return nil
		}
	}
	return o
}

func num(o any, path ...string) float64 {
	f, _ := get(o, path...).(float64)
	return f
}

func str(o any, path ...string) string {
	s, _ := get(o, path...).(string)
	return s
}

// fmtNum prints a figure with sensible precision.
func fmtNum(f float64) string {
	switch {
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return fmt.Sprintf("%.0f", f)
	case f >= 100 || f <= -100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10 || f <= -10:
		return fmt.Sprintf("%.1f", f)
	case f >= 0.01 || f <= -0.01:
		return fmt.Sprintf("%.2f", f)
	}
	return fmt.Sprintf("%.2g", f)
}

// table renders a markdown table.
func table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// source names the files a block was generated from.
func source(files ...string) string {
	for i, f := range files {
		files[i] = "`results/" + f + "`"
	}
	return "\n*Generated from " + strings.Join(files, ", ") + ".*\n"
}
