package paper

import (
	"fmt"
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
	return strings.Join(parts, "\n") + source("sim/calibration.json", "sim/scale-out.json", "sim/durability.json",
		"sim/speed-powermail.json", "sim/speed-rendezvous.json"), nil
}

func simCalibration(results string) (string, error) {
	c, err := load(results, "sim/calibration.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, p := range listOf(c, "points") {
		rows = append(rows, []string{fmtNum(num(p, "r")), fmtNum(num(p, "predicted_msgs_per_sec")),
			fmtNum(num(p, "measured", "msgs_per_sec_median")), pct(num(p, "measured", "throughput_error_pct"))})
	}
	for _, p := range listOf(c, "leave_one_out") {
		rows = append(rows, []string{fmtNum(num(p, "predicts_r")) + " (fitted on the other two)",
			fmtNum(num(p, "predicted_msgs_per_sec")), fmtNum(num(p, "measured_msgs_per_sec")),
			pct(num(p, "throughput_error_pct"))})
	}
	return "**Calibration** (the benchmark suite's cluster and workload; 4 KiB, R = W):\n\n" +
		table([]string{"R", "predicted msgs/s", "measured msgs/s", "error"}, rows), nil
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
