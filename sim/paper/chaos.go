package paper

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// chaosGlob finds the JSON reports of the fault matrix, one directory per
// seed (make chaos), one report per cell.
const chaosGlob = "chaos/matrix-*/R*.json"

// chaosReports loads every cell report, grouped by cell name in name order.
func chaosReports(results string) (names []string, cells map[string][]object, files int, err error) {
	paths, err := filepath.Glob(filepath.Join(results, chaosGlob))
	if err != nil || len(paths) == 0 {
		return nil, nil, 0, fmt.Errorf("no chaos reports match %s: %w", filepath.Join(results, chaosGlob), orNotExist(err))
	}
	cells = map[string][]object{}
	for _, f := range paths {
		rel, _ := filepath.Rel(results, f)
		r, err := load(results, rel)
		if err != nil {
			return nil, nil, 0, err
		}
		name := str(r, "config", "name")
		if cells[name] == nil {
			names = append(names, name)
		}
		cells[name] = append(cells[name], r)
	}
	sort.Strings(names)
	return names, cells, len(paths), nil
}

func genChaos(results string) (string, error) {
	names, cells, files, err := chaosReports(results)
	if err != nil {
		return "", err
	}
	var rows [][]string
	totals := map[string]float64{}
	seeds := map[float64]bool{}
	for _, n := range names {
		rows = append(rows, chaosRow(cells[n], totals))
		for _, r := range cells[n] {
			seeds[num(r, "config", "seed")] = true
		}
	}
	head := fmt.Sprintf("%d cells, %d seeds (%d runs); in total %s messages acknowledged with 250, %s lost, %s duplicated, %s phantom, %s resurrected, %s visible after a refusal.\n\n",
		len(rows), len(seeds), files, fmtNum(totals["acked"]), fmtNum(totals["lost"]), fmtNum(totals["duplicated"]),
		fmtNum(totals["phantom"]), fmtNum(totals["resurrected"]), fmtNum(totals[visibleAfter4xx]))
	return head + table([]string{"cell", "R", "W", "fault (phase)", "acked", "refused", "lost", "dup", "phantom", "resurr.", "visible after 4xx",
		"below R", "below R after repair", "verdict", "expected"}, rows) +
		source(chaosGlob), nil
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

// chaosRow sums one cell's runs (one per seed); the verdict is pass only
// if every run passed.
func chaosRow(runs []object, totals map[string]float64) []string {
	sum := map[string]float64{}
	verdict := "pass"
	for _, r := range runs {
		for _, k := range []string{"acked", "failed", "lost", "duplicated", "phantom", "resurrected",
			"under_replicated", "under_replicated_after_repair"} {
			sum[k] += num(r, "counts", k)
		}
		sum[visibleAfter4xx] += visible(r)
		if ok, _ := get(r, "pass").(bool); !ok {
			verdict = "violation"
		}
	}
	for _, k := range []string{"acked", "lost", "duplicated", "phantom", "resurrected", visibleAfter4xx} {
		totals[k] += sum[k]
	}
	r := runs[0]
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
	c := func(k string) string { return fmtNum(sum[k]) }
	return []string{str(r, "config", "name"), fmtNum(num(r, "config", "r")), fmtNum(num(r, "config", "w")),
		strings.Join(faults, ", "), c("acked"), c("failed"), c("lost"), c("duplicated"), c("phantom"),
		c("resurrected"), c(visibleAfter4xx), c("under_replicated"), c("under_replicated_after_repair"),
		verdict, str(r, "config", "expect")}
}
