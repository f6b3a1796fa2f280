package paper

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// The benchmark files a paper quotes side by side must come from one run
// of the suite: a scenario re-run alone (pmbench -only) on another day, or
// on a busier machine, would sit in the same table as the others and its
// ratios would compare two machines. Each file carries the run that wrote
// it (loadgen/bench RunInfo). Two files are exempt: peers.json is written
// by make bench-peers, a run of its own that measures both sides
// alternately, and machine.json describes the machine and has no run.
var ownRun = map[string]bool{"peers.json": true, "machine.json": true}

// checkOneRun fails when the benchmark files that paper cites directly
// under results/ come from more than one run. Files without a run id
// count as a run of their own ("none recorded") once any file has one;
// results older than run ids have none at all and pass.
func checkOneRun(paper, root string) error {
	runs := map[string][]string{}
	for _, p := range citeRE.FindAllString(paper, -1) {
		name := strings.TrimPrefix(p, "results/")
		if filepath.Ext(name) != ".json" || strings.Contains(name, "/") || ownRun[name] {
			continue
		}
		f, err := load(filepath.Join(root, "results"), name)
		if err != nil {
			return err
		}
		id := orNone(str(f, "run", "id"))
		if !slices.Contains(runs[id], name) {
			runs[id] = append(runs[id], name)
		}
	}
	if len(runs) <= 1 {
		return nil
	}
	var parts []string
	for _, id := range slices.Sorted(maps.Keys(runs)) {
		parts = append(parts, fmt.Sprintf("run %s: %s", id, strings.Join(runs[id], ", ")))
	}
	return fmt.Errorf("paper quotes benchmark files of %d runs (%s): re-run make bench, then make sim and make paper",
		len(runs), strings.Join(parts, "; "))
}
