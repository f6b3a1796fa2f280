package paper

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Inline figures: a number in the prose that comes from a result is
// written as
//
//	<!-- v:FILE:PATH -->123<!-- /v -->
//
// where FILE is under results/ and PATH a dot-separated walk into its JSON
// (object keys, array indexes), optionally followed by "*FACTOR" (a
// percentage, say). Render rewrites the text between the markers from the
// file, so the prose cannot drift from the results it cites; a figure
// written without markers is caught by bareFigures.
var inlineRE = regexp.MustCompile(`<!-- v:([^: ]+):([^ ]+) -->[^<]*<!-- /v -->`)

func renderInline(paper, results string) (string, error) {
	var firstErr error
	out := inlineRE.ReplaceAllStringFunc(paper, func(m string) string {
		sub := inlineRE.FindStringSubmatch(m)
		v, err := inlineValue(results, sub[1], sub[2])
		if err != nil {
			setErr(&firstErr, fmt.Errorf("inline figure %s:%s: %w", sub[1], sub[2], err))
			return m
		}
		return "<!-- v:" + sub[1] + ":" + sub[2] + " -->" + fmtNum(v) + "<!-- /v -->"
	})
	return out, firstErr
}

func inlineValue(results, file, spec string) (float64, error) {
	path, factor := spec, 1.0
	if p, f, ok := strings.Cut(spec, "*"); ok {
		var err error
		if factor, err = strconv.ParseFloat(f, 64); err != nil {
			return 0, err
		}
		path = p
	}
	o, err := load(results, file)
	if err != nil {
		return 0, err
	}
	v, ok := get(o, strings.Split(path, ".")...).(float64)
	if !ok {
		return 0, fmt.Errorf("no number at %s", path)
	}
	return v * factor, nil
}

// measuredRE matches a figure with a unit of measurement: what the prose
// may only state through an inline marker or a generated block.
var measuredRE = regexp.MustCompile(`\b\d[\d,]*(?:\.\d+)?\s?(?:msgs?/s|MB/s|GB/s|Gbit/s|ms|us|µs)\b|\b\d[\d,]*(?:\.\d+)?x\b`)

// bareFigures returns the measured figures of paper that are neither in a
// generated block nor in an inline marker.
func bareFigures(paper string) []string {
	prose := blockRE.ReplaceAllString(paper, "")
	prose = inlineRE.ReplaceAllString(prose, "")
	var out []string
	for _, line := range strings.Split(prose, "\n") {
		for _, m := range measuredRE.FindAllString(line, -1) {
			out = append(out, fmt.Sprintf("%q in %q", m, strings.TrimSpace(line)))
		}
	}
	return out
}
