package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"powermail/impl/testenv"
)

// units are the unit files, with ExecStart pointing at stand-in programs
// in a temporary directory (verify checks that the command exists) and
// the template instantiated as pplistener@disk1.
func units(t *testing.T) (dir string, names []string) {
	dir, bin := t.TempDir(), t.TempDir()
	for _, prog := range []string{"pplistener", "powersmtp", "powerpop", "ppadmin"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, prog), []byte("#!/bin/sh\n"), 0o755))
	}
	files, err := filepath.Glob("systemd/*")
	require.NoError(t, err)
	require.Len(t, files, 5)
	for _, f := range files {
		text, err := os.ReadFile(f)
		require.NoError(t, err)
		name := strings.Replace(filepath.Base(f), "@.", "@disk1.", 1)
		unit := strings.ReplaceAll(string(text), "/usr/local/bin/", bin+"/")
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644))
		names = append(names, name)
	}
	return dir, names
}

// systemd-analyze verify loads every unit as systemd would and reports
// unknown keys, bad values and missing commands; any output fails.
// systemd-analyze runs here without systemd as PID 1 (it only reads files).
func TestSystemdVerify(t *testing.T) {
	sa := testenv.NeedTool(t, "systemd-analyze", "systemd")
	dir, names := units(t)
	cmd := exec.Command(sa, append([]string{"verify"}, names...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, string(out))
}

// maxExposure is the highest `systemd-analyze security` score accepted
// (0 is fully locked down, 10 unprotected; below 2 systemd calls "OK").
const maxExposure = 2.0

var exposureRE = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

func TestSystemdUnitsAreHardened(t *testing.T) {
	sa := testenv.NeedTool(t, "systemd-analyze", "systemd")
	dir, names := units(t)
	for _, name := range names {
		if !strings.HasSuffix(name, ".service") {
			continue
		}
		cmd := exec.Command(sa, "security", "--offline=true", name)
		cmd.Dir = dir
		out, _ := cmd.CombinedOutput() // exits non-zero above its own threshold; the score decides
		m := exposureRE.FindSubmatch(out)
		require.NotNil(t, m, "%s: no exposure level in:\n%s", name, out)
		score, err := strconv.ParseFloat(string(m[1]), 64)
		require.NoError(t, err)
		assert.Less(t, score, maxExposure, "%s exposure", name)

		text, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		for _, line := range []string{"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes"} {
			assert.Contains(t, string(text), "\n"+line+"\n", "%s", name)
		}
	}
}

// What each daemon may write: pplistener its own disk, powersmtp its state
// directory (the orphan log), powerpop nothing, the scan its metrics file.
func TestWritablePaths(t *testing.T) {
	want := map[string][]string{
		"pplistener@.service":           {"ReadWritePaths=/srv/powermail/%i"},
		"powersmtp.service":             {"StateDirectory=powersmtp"},
		"powerpop.service":              nil,
		"powermail-repair-scan.service": {"ReadWritePaths=/var/lib/prometheus/node-exporter"},
	}
	writable := regexp.MustCompile(`(?m)^(ReadWritePaths|StateDirectory|LogsDirectory|CacheDirectory|RuntimeDirectory)=.*$`)
	for name, paths := range want {
		text, err := os.ReadFile(filepath.Join("systemd", name))
		require.NoError(t, err)
		assert.ElementsMatch(t, paths, writable.FindAllString(string(text), -1), "%s", name)
	}
}

// Every configuration a unit names is shipped in deploy/config, and the
// orphan log powersmtp.conf names is inside the unit's state directory.
func TestUnitsNameShippedConfigs(t *testing.T) {
	conf := regexp.MustCompile(`-config /etc/powermail/([a-z]+)(-%i)?\.conf`)
	files, _ := filepath.Glob("systemd/*.service")
	for _, f := range files {
		text, _ := os.ReadFile(f)
		m := conf.FindStringSubmatch(string(text))
		require.NotNil(t, m, "%s names no configuration", f)
		assert.FileExists(t, filepath.Join("config", m[1]+".conf"), "%s", f)
	}
	smtp, err := os.ReadFile("config/powersmtp.conf")
	require.NoError(t, err)
	assert.Contains(t, string(smtp), "\norphan-log = /var/lib/powersmtp/orphans.jsonl\n")
}
