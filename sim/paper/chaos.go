package paper

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// chaosDir holds one JSON report per cell of the fault matrix.
const chaosDir = "chaos/matrix"

func genChaos(results string) (string, error) {
	files, err := filepath.Glob(filepath.Join(results, chaosDir, "*.json"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no chaos reports under %s: %w", filepath.Join(results, chaosDir), orNotExist(err))
	}
	sort.Strings(files)
	files = slices.DeleteFunc(files, func(f string) bool { return filepath.Base(f) == "summary.json" })
	var rows [][]string
	totals := map[string]float64{}
	for _, f := range files {
		rel, _ := filepath.Rel(results, f)
		r, err := load(results, rel)
		if err != nil {
			return "", err
		}
		rows = append(rows, chaosRow(r, totals))
	}
	head := fmt.Sprintf("%d cells; in total %s messages acknowledged with 250, %s lost, %s duplicated, %s phantom, %s resurrected, %s visible after a refusal.\n\n",
		len(rows), fmtNum(totals["acked"]), fmtNum(totals["lost"]), fmtNum(totals["duplicated"]),
		fmtNum(totals["phantom"]), fmtNum(totals["resurrected"]), fmtNum(totals[visibleAfter4xx]))
	return head + table([]string{"cell", "R", "W", "fault (phase)", "acked", "refused", "lost", "dup", "phantom", "resurr.", "visible after 4xx",
		"below R", "below R after repair", "verdict", "expected"}, rows) +
		source(chaosDir+"/*.json"), nil
}

const visibleAfter4xx = "visible_after_4xx"

// visible is a report's count of refused messages found in a mailbox;
// reports written before the count had its name call it
// orphans_after_fail.
func visible(r object) float64 {
	if _, ok := get(r, "counts", visibleAfter4xx).(float64); ok {
		return num(r, "counts", visibleAfter4xx)
	}
	return num(r, "counts", "orphans_after_fail")
}

func orNotExist(err error) error {
	if err != nil {
		return err
	}
	return os.ErrNotExist
}

func chaosRow(r object, totals map[string]float64) []string {
	for _, k := range []string{"acked", "lost", "duplicated", "phantom", "resurrected"} {
		totals[k] += num(r, "counts", k)
	}
	totals[visibleAfter4xx] += visible(r)
	verdict := "violation"
	if ok, _ := get(r, "pass").(bool); ok {
		verdict = "pass"
	}
	var faults []string
	for _, e := range listOf(r, "config", "epochs") {
		for _, f := range listOf(e, "faults") {
			desc := str(f, "class")
			if p := str(f, "phase"); p != "" {
				desc += " (" + p[strings.LastIndexByte(p, '/')+1:] + ")"
			}
			faults = append(faults, desc)
		}
	}
	c := func(k string) string { return fmtNum(num(r, "counts", k)) }
	return []string{str(r, "config", "name"), fmtNum(num(r, "config", "r")), fmtNum(num(r, "config", "w")),
		strings.Join(faults, ", "), c("acked"), c("failed"), c("lost"), c("duplicated"), c("phantom"),
		c("resurrected"), fmtNum(visible(r)), c("under_replicated"), c("under_replicated_after_repair"),
		verdict, str(r, "config", "expect")}
}
