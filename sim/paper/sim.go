package paper

import (
	"fmt"
	"slices"
	"strings"
)

// genSim renders the three simulation scenarios.
func genSim(results string) (string, error) {
	var parts []string
	for _, g := range []func(string) (string, error){simCalibration, simScaleOut, simDurability, simSpeed} {
		s, err := g(results)
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	files := []string{"sim/calibration.json", "sim/scale-out.json", "sim/durability.json",
		"sim/speed-powermail.json", "sim/speed-rendezvous.json"}
	return strings.Join(parts, "\n") + source(append(files, heldOutFiles(results)...)...), nil
}

// heldOutFiles are the benchmark files whose figures the calibration
// table prints.
func heldOutFiles(results string) []string {
	c, _ := load(results, "sim/calibration.json")
	var out []string
	for _, p := range listOf(c, "held_out") {
		if f := strings.TrimPrefix(str(p, "file"), "results/"); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// simCalibration renders the calibration: the held-out predictions with
// the measured figures read from the benchmark files themselves, the
// costs fitted on every point, and where the model is wrong. It fails
// when calibration.json does not belong with the files beside it
// (checkCalibration).
func simCalibration(results string) (string, error) {
	c, err := load(results, "sim/calibration.json")
	if err != nil {
		return "", err
	}
	if err := checkCalibration(results, c); err != nil {
		return "", err
	}
	head := "**Calibration** (the benchmark suite's cluster and workload: 3 backends and the load generator on one " +
		"2-core host, 4 KiB, R = W, closed loop). Model: " + str(c, "model") + ".\n\n"
	if why := str(c, "not_fitted"); why != "" {
		return head + "Not fitted: " + why + ".\n", nil
	}
	pred, err := heldOutTable(results, c)
	if err != nil {
		return "", err
	}
	head += fmt.Sprintf("Fitted on run `%s` (commit `%s`). Every prediction comes from a fit that did not see "+
		"the point; errors over 15%% are flagged.\n\n", str(c, "inputs", "run", "id"), str(c, "inputs", "run", "commit"))
	return head + pred + "\n" + paramTable(c) + "\nWhere the model is wrong:\n\n" + bullets(listOf(c, "where_the_model_is_wrong")), nil
}

func heldOutTable(results string, c object) (string, error) {
	var rows [][]string
	for _, p := range listOf(c, "held_out") {
		file := str(p, "file")
		rate, err := measuredFrom(results, file, "msgs_per_sec")
		if err != nil {
			return "", err
		}
		p50, err := measuredFrom(results, file, "p50_ms")
		if err != nil {
			return "", err
		}
		flag := ""
		if within, _ := get(p, "throughput_within_15pct").(bool); !within {
			flag = "**over 15%**"
		}
		rows = append(rows, []string{str(p, "scheme"), fmtNum(num(p, "r")), fmtNum(num(p, "sessions")),
			fmtNum(num(p, "predicted_msgs_per_sec")), fmtNum(rate), pct(num(p, "throughput_error_pct")),
			fmtNum(num(p, "predicted_p50_ms")), fmtNum(p50), pct(num(p, "p50_error_pct")), flag})
	}
	return table([]string{"held out by", "R", "sessions", "predicted msgs/s", "measured msgs/s", "error",
		"predicted p50 ms", "measured p50 ms", "p50 error", ""}, rows), nil
}

// paramTable lists the costs fitted on every point with their ranges.
func paramTable(c object) string {
	all := get(c, "fitted_on_all")
	var rows [][]string
	for _, r := range listOf(c, "parameter_ranges") {
		name := str(r, "name")
		rows = append(rows, []string{"`" + name + "`", fmtNum(num(all, name)), str(r, "why")})
	}
	return "Costs fitted on every point (flush latency: " + str(all, "write_flush_source") + "):\n\n" +
		table([]string{"cost", "ms", "plausible range"}, rows)
}

func bullets(items []any) string {
	var b strings.Builder
	for _, it := range items {
		s, _ := it.(string)
		b.WriteString("- " + s + "\n")
	}
	return b.String()
}

func pct(f float64) string { return fmt.Sprintf("%+.1f%%", f) }

func simScaleOut(results string) (string, error) {
	s, err := load(results, "sim/scale-out.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, p := range listOf(s, "points") {
		rows = append(rows, []string{str(p, "policy"), fmtNum(num(p, "backends")), fmt.Sprintf("%.0e", num(p, "mailboxes")),
			fmtNum(num(p, "capacity_msgs_per_sec")), fmtNum(num(p, "backends_contacted_per_login")),
			fmtNum(num(p, "files_max_over_mean")), fmtNum(num(p, "copies_per_message"))})
	}
	return fmt.Sprintf("**Scale-out** (R = W = %s; %s messages and %s POP3 logins per mailbox a day):\n\n",
		fmtNum(num(s, "r")), fmtNum(num(s, "msgs_per_mailbox_day")), fmtNum(num(s, "logins_per_mailbox_day"))) +
		table([]string{"policy", "backends", "mailboxes", "capacity msgs/s", "backends per login", "files max/mean", "copies per message"}, rows), nil
}

func simDurability(results string) (string, error) {
	d, err := load(results, "sim/durability.json")
	if err != nil {
		return "", err
	}
	claim := get(d, "claim")
	out := fmt.Sprintf("**Durability.** PowerMail's claim: \"%s\". Enumerating every failure set gives %s, "+
		"placing messages with the real placement code and drawing failure sets gives %s. Verdict: %s.\n\n",
		str(claim, "claim"), pctOf(num(claim, "enumerated_half_fail_uniform")),
		pctOf(num(claim, "simulated_with_placement")), str(claim, "verdict"))
	var rows [][]string
	for _, r := range listOf(d, "repair") {
		rows = append(rows, []string{fmtNum(num(r, "repair_mb_per_sec")), fmtNum(num(r, "repair_hours")),
			fmt.Sprintf("%.1e", num(r, "per_message_annual_r2")), fmt.Sprintf("%.1e", num(r, "per_message_annual_r3"))})
	}
	return out + fmt.Sprintf("Annual loss probability of an acknowledged message (disk AFR %s, %s TB per backend):\n\n",
		pctOf(num(d, "afr")), fmtNum(num(d, "data_tb_per_backend"))) +
		table([]string{"repair MB/s", "repair hours", "R = 2", "R = 3"}, rows), nil
}

func pctOf(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

// simSpeed reports the simulator's own cost for one simulated day.
func simSpeed(results string) (string, error) {
	var rows [][]string
	for _, policy := range []string{"powermail", "rendezvous"} {
		d, err := load(results, "sim/speed-"+policy+".json")
		if err != nil {
			return "", err
		}
		rows = append(rows, []string{policy, fmtNum(num(d, "backends")), fmt.Sprintf("%.0e", num(d, "mailboxes")),
			fmtNum(num(d, "simulated_sec") / 3600), fmtNum(num(d, "wall_sec")), fmtNum(num(d, "cpu_sec")),
			fmtNum(num(d, "peak_rss_mib"))})
	}
	return "**Speed** of the simulator itself (limit: one simulated day in 600 s of wall time):\n\n" +
		table([]string{"policy", "backends", "mailboxes", "simulated hours", "wall s", "CPU s", "peak RSS MiB"}, rows), nil
}
