package paper

import (
	"fmt"
	"strings"
)

// peerWorkload ties a comparison in peers.json to the suite's own file for
// the same workload, which records the fraction of the machine's limit.
type peerWorkload struct {
	key, name, scenario string
}

var peerWorkloads = []peerWorkload{
	{"smtp_4k_c16", "SMTP accept, 4 KiB, 16 sessions", "smtp-throughput-r2-4k.json"},
	{"smtp_4k_c32", "SMTP accept, 4 KiB, 32 sessions", "smtp-throughput-r2-4k-c32.json"},
	{"smtp_512k_c8", "SMTP accept, 512 KiB, 8 sessions", "smtp-throughput-r2-512k.json"},
	{"pop3_retr_4k", "POP3 RETR, 4 KiB", "pop3-retr-4k.json"},
	{"pop3_retr_512k", "POP3 RETR, 512 KiB", "pop3-retr-512k.json"},
}

// genHeadline is the paper's first table: where we stand against the peers
// and against the limit of our own path, as results/ has it, wins and
// losses alike.
func genHeadline(results string) (string, error) {
	peers, err := load(results, "peers.json")
	if err != nil {
		return "", err
	}
	rows := [][]string{}
	files := []string{"peers.json"}
	for _, w := range peerWorkloads {
		e := get(peers, w.key)
		if e == nil {
			return "", fmt.Errorf("peers.json has no %s", w.key)
		}
		s, err := load(results, w.scenario)
		if err != nil {
			return "", err
		}
		files = append(files, w.scenario)
		rows = append(rows, []string{w.name, fmt.Sprintf("%.2f", num(e, "ratio")), localRatio(e),
			limitFraction(s, str(e, "metric"))})
	}
	head := "Ours against Postfix + Dovecot (medians of alternating runs, `make bench-peers`) " +
		"and against the limit of our own path on this machine (`make bench`). " +
		"Above 1 we are faster; below 1 we lose.\n\n"
	return head + table([]string{"workload", "ours / peer", "ours / peer, POP3 with local-stores",
		"ours / limit of the path"}, rows) + source(files...), nil
}

func localRatio(e any) string {
	if r := num(e, "ratio_local_stores"); r > 0 {
		return fmt.Sprintf("%.2f", r)
	}
	return ""
}

// limitFraction names the tightest recorded limit of metric: for POP3 the
// two-hop path (file, loopback, powerpop, loopback, client), which is the
// one our architecture pays, rather than one-hop sendfile.
func limitFraction(s object, metric string) string {
	best := ""
	for _, l := range listOf(s, "limits") {
		if str(l, "metric") != metric {
			continue
		}
		f := fmt.Sprintf("%.2f of %s", num(l, "fraction"), str(l, "limit"))
		if best == "" || strings.Contains(str(l, "limit"), "two-hop") {
			best = f
		}
	}
	return best
}

func genPeers(results string) (string, error) {
	s, err := load(results, "peers.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, w := range peerWorkloads {
		e := get(s, w.key)
		if e == nil {
			return "", fmt.Errorf("peers.json has no %s", w.key)
		}
		local := ""
		if l := get(e, "ours_local_stores"); l != nil {
			local = fmtNum(num(l, "median"))
		}
		rows = append(rows, []string{w.name, str(e, "metric"), fmtNum(num(e, "ours", "median")), local,
			fmtNum(num(e, "theirs", "median")), fmt.Sprintf("%.2f", num(e, "ratio")),
			cpuPair(e)})
	}
	rows = append(rows, []string{"one message to 100 recipients", "files", "2 (R=2)", "",
		fmtNum(num(s, "fanout_100_rcpts_postfix", "files")), "", ""})
	head := fmt.Sprintf("Ours: %s. With local-stores: %s. Theirs: %s. Medians of %s alternating runs.\n\n",
		str(s, "ours"), str(s, "ours_local"), str(s, "theirs"), fmtNum(num(s, "runs")))
	return head + table([]string{"workload", "metric", "ours", "ours, local-stores", "Postfix/Dovecot",
		"ours / theirs", "server CPU us per message, ours / theirs"}, rows) + source("peers.json"), nil
}

func cpuPair(e any) string {
	c := get(e, "server_cpu_us_per_msg")
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s / %s", fmtNum(num(c, "ours")), fmtNum(num(c, "theirs")))
}
