package bench

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Resummarize redraws every figure from the JSON already in results/ (no
// cluster needed): the POP3 panels against their limits and the peer
// comparison read what the benchmark and bench-peers wrote.
func TestResummarizeDrawsFromResults(t *testing.T) {
	out := t.TempDir()
	files, err := filepath.Glob(filepath.Join("..", "..", "results", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(out, filepath.Base(f)), data, 0o644))
	}
	require.NoError(t, Resummarize(Options{OutDir: out}))
	for file, texts := range map[string][]string{
		"pop3-throughput.svg": {"POP3 RETR 4 KiB", "POP3 RETR 512 KiB", "sendfile limit"},
		"peers.svg":           {"POP3 RETR 512 KiB", "Postfix + Dovecot = 1"},
		"smtp-throughput.svg": {"SMTP accept rate"},
	} {
		svg, err := os.ReadFile(filepath.Join(out, file))
		require.NoError(t, err)
		for _, text := range texts {
			require.Contains(t, string(svg), text, file)
		}
		require.FileExists(t, filepath.Join(out, file[:len(file)-len(".svg")]+".png"))
	}
}
