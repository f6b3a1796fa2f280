package paper

import (
	"fmt"
	"strings"
)

func genLimits(results string) (string, error) {
	l, err := load(results, "limits.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, e := range listOf(l, "fsync_4k_create") {
		rows = append(rows, []string{"create + write 4 KiB + fsync file + fsync dir",
			fmtNum(num(e, "parallel")) + " writers", fmtNum(num(e, "ops_per_sec")) + " ops/s"})
	}
	for _, e := range listOf(l, "group_commit_4k") {
		rows = append(rows, []string{"create + write 4 KiB + group flush + link + group flush (the store's path)",
			fmtNum(num(e, "parallel")) + " writers", fmtNum(num(e, "ops_per_sec")) + " ops/s"})
	}
	for _, e := range listOf(l, "two_hop_sendfile") {
		rows = append(rows, []string{fmt.Sprintf("two hops, sendfile then splice, %s KiB files", fmtNum(num(e, "file_bytes")/1024)),
			fmtNum(num(e, "conns")) + " connections",
			fmt.Sprintf("%s req/s, %s MB/s", fmtNum(num(e, "requests_per_sec")), fmtNum(num(e, "mb_per_sec")))})
	}
	for _, e := range listOf(l, "loopback_tcp") {
		rows = append(rows, []string{"loopback TCP", fmtNum(num(e, "parallel")) + " streams",
			fmtNum(num(e, "mb_per_sec")) + " MB/s"})
	}
	for _, e := range listOf(l, "sendfile") {
		rows = append(rows, []string{fmt.Sprintf("sendfile, %s KiB files", fmtNum(num(e, "file_bytes")/1024)),
			fmtNum(num(e, "conns")) + " connections",
			fmt.Sprintf("%s req/s, %s MB/s", fmtNum(num(e, "requests_per_sec")), fmtNum(num(e, "mb_per_sec")))})
	}
	note := fmt.Sprintf("\nLoad average at the start of the run: %s. %s\n",
		fmtNum(num(l, "machine", "load_avg_1m")), str(l, "machine", "note"))
	return table([]string{"limit", "parallelism", "measured"}, rows) + note + source("limits.json"), nil
}

func listOf(o any, path ...string) []any {
	l, _ := get(o, path...).([]any)
	return l
}

// median and spread of one metric of a scenario file.
func metric(s object, name string) string {
	m := get(s, "metrics", name)
	if m == nil {
		return "n/a"
	}
	return fmt.Sprintf("%s (±%s%%)", fmtNum(num(m, "median")), fmtNum(num(m, "spread_pct")/2))
}

// fraction of the binding limit recorded for a metric.
func fraction(s object, name string) string {
	for _, l := range listOf(s, "limits") {
		if str(l, "metric") == name {
			return fmt.Sprintf("%.2f of %s", num(l, "fraction"), str(l, "limit"))
		}
	}
	return ""
}

func genSMTP(results string) (string, error) {
	var rows [][]string
	var files []string
	for _, r := range []string{"1", "2", "3"} {
		for _, size := range []string{"4k", "512k"} {
			name := "smtp-throughput-r" + r + "-" + size + ".json"
			s, err := load(results, name)
			if err != nil {
				return "", err
			}
			files = append(files, name)
			rows = append(rows, []string{r, strings.ToUpper(size[:len(size)-1]) + " KiB",
				metric(s, "msgs_per_sec"), metric(s, "mb_per_sec"), metric(s, "p50_ms"), metric(s, "p99_ms"),
				fraction(s, "msgs_per_sec")})
		}
	}
	out := "Closed loop, R = W, one message per connection; medians of the runs (± half the spread):\n\n" +
		table([]string{"R", "size", "msgs/s", "MB/s", "p50 ms", "p99 ms", "fraction of limit"}, rows)
	lat, err := latencyTable(results)
	if err != nil {
		return "", err
	}
	return out + "\n" + lat + source(append(files, "smtp-latency.json")...), nil
}

func latencyTable(results string) (string, error) {
	s, err := load(results, "smtp-latency.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, f := range listOf(s, "params", "fractions") {
		k := fmt.Sprintf("@%.2f", f.(float64))
		rows = append(rows, []string{fmt.Sprintf("%.0f%%", 100*f.(float64)),
			fmtNum(num(s, "metrics", "offered_per_sec"+k, "median")), fmtNum(num(s, "metrics", "achieved_per_sec"+k, "median")),
			fmtNum(num(s, "metrics", "p50_ms"+k, "median")), fmtNum(num(s, "metrics", "p99_ms"+k, "median")),
			fmtNum(num(s, "metrics", "failed"+k, "median"))})
	}
	head := fmt.Sprintf("Open loop (Poisson arrivals, latency from the intended send time) at fractions of the R=2 maximum of %s msgs/s:\n\n",
		fmtNum(num(s, "params", "max_rate_per_sec")))
	return head + table([]string{"offered", "offered/s", "achieved/s", "p50 ms", "p99 ms", "failed"}, rows), nil
}

func genPOP(results string) (string, error) {
	var rows [][]string
	names := []string{"pop3-retr-4k.json", "pop3-retr-512k.json", "pop3-logins.json", "userbase-lookup.json", "smtp-100-rcpts.json"}
	docs := map[string]object{}
	for _, n := range names {
		d, err := load(results, n)
		if err != nil {
			return "", err
		}
		docs[n] = d
	}
	for _, n := range names[:2] {
		d := docs[n]
		rows = append(rows, []string{str(d, "scenario"), metric(d, "msgs_per_sec") + " msgs/s, " + metric(d, "mb_per_sec") + " MB/s",
			fraction(d, "mb_per_sec")})
	}
	rows = append(rows,
		[]string{"pop3-logins", metric(docs["pop3-logins.json"], "logins_per_sec") + " logins/s (argon2id)", ""},
		[]string{"userbase lookups, SQLite", metric(docs["userbase-lookup.json"], "sqlite_lookups_per_sec") + " /s (caches off)", ""},
		[]string{"userbase lookups, MariaDB", metric(docs["userbase-lookup.json"], "mariadb_lookups_per_sec") + " /s (caches off)", ""})
	r := docs["smtp-100-rcpts.json"]
	rows = append(rows, []string{"one 4 KiB message to 100 recipients, R=2",
		fmt.Sprintf("%s files, %s links, %s PREPAREs, %s bytes to backends", fmtNum(num(r, "metrics", "files", "median")),
			fmtNum(num(r, "metrics", "links", "median")), fmtNum(num(r, "metrics", "prepares", "median")),
			fmtNum(num(r, "metrics", "bytes_to_backends", "median"))), ""})
	return table([]string{"scenario", "median", "fraction of limit"}, rows) + source(names...), nil
}

func genTargets(results string) (string, error) {
	s, err := load(results, "summary.json")
	if err != nil {
		return "", err
	}
	var rows [][]string
	for _, t := range listOf(s, "targets") {
		met := "missed"
		if b, _ := get(t, "met").(bool); b {
			met = "met"
		}
		rows = append(rows, []string{str(t, "name"), str(t, "goal"), fmtNum(num(t, "measured")), met, str(t, "detail")})
	}
	return table([]string{"target (issue 6)", "goal", "measured", "", "detail"}, rows) + source("summary.json"), nil
}
