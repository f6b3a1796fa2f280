package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type sample struct {
	Listen   string        `key:"listen" help:"address"`
	ReadOnly bool          `key:"readonly" help:"refuse writes"`
	MaxConns int           `key:"max-conns" help:"limit"`
	MinFree  uint64        `key:"min-free-bytes" help:"floor"`
	Timeout  time.Duration `key:"io-timeout" help:"deadline"`
	Ratio    float64       `key:"ratio" help:"a number"`
	Backends []string      `key:"backends" help:"list"`
	internal int
}

func defaults() sample {
	return sample{Listen: "127.0.0.1:1101", MaxConns: 10, Timeout: time.Second}
}

func writeFile(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "x.conf")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

func TestDefaultsSurviveWithoutInput(t *testing.T) {
	c := defaults()
	require.NoError(t, Load("t", nil, &c))
	assert.Equal(t, defaults(), c)
}

func TestFileThenFlagsOverride(t *testing.T) {
	p := writeFile(t, "# comment\n\nlisten = 0.0.0.0:1\nmax-conns=5\nio-timeout = 3s\n"+
		"backends = a:1, b:2\nreadonly = true\nmin-free-bytes = 1000\nratio = 0.5\n")
	c := defaults()
	// -max-conns before -config: flags must still win over the file.
	require.NoError(t, Load("t", []string{"-max-conns", "7", "-config", p, "--readonly=false"}, &c))
	assert.Equal(t, "0.0.0.0:1", c.Listen)
	assert.Equal(t, 7, c.MaxConns)
	assert.Equal(t, 3*time.Second, c.Timeout)
	assert.Equal(t, []string{"a:1", "b:2"}, c.Backends)
	assert.False(t, c.ReadOnly)
	assert.Equal(t, uint64(1000), c.MinFree)
	assert.Equal(t, 0.5, c.Ratio)
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	c := defaults()
	err := Load("t", []string{"-config", writeFile(t, "listen = x\nlisten-adress = y\n")}, &c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), ":2:")
	assert.Contains(t, err.Error(), `"listen-adress"`)

	err = Load("t", []string{"-config", writeFile(t, "io-timeout = soon\n")}, &c)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"io-timeout"`)

	err = Load("t", []string{"-config", writeFile(t, "just words\n")}, &c)
	assert.ErrorContains(t, err, "key = value")

	assert.Error(t, Load("t", []string{"-no-such-flag"}, &c))
	assert.Error(t, Load("t", []string{"-config", "/nonexistent/file"}, &c))
}

func TestOverlongLineRefused(t *testing.T) {
	c := defaults()
	long := "listen = " + string(make([]byte, maxLineBytes)) + "\n"
	assert.Error(t, Load("t", []string{"-config", writeFile(t, long)}, &c))
}

func TestErrorf(t *testing.T) {
	assert.EqualError(t, Errorf("secret", "must be at least %d bytes", 16),
		`config key "secret": must be at least 16 bytes`)
}

func TestUnsupportedType(t *testing.T) {
	var bad struct {
		M map[string]int `key:"m"`
	}
	assert.Error(t, Load("t", nil, &bad))
	assert.Error(t, Load("t", nil, bad))
}

func TestNestedPrefixedStruct(t *testing.T) {
	var c struct {
		Name string `key:"name"`
		DB   struct {
			Driver string        `key:"driver"`
			Wait   time.Duration `key:"timeout"`
		} `prefix:"userbase-"`
	}
	p := writeFile(t, "userbase-driver = mysql\nname = x\n")
	require.NoError(t, Load("t", []string{"-config", p, "-userbase-timeout", "2s"}, &c))
	assert.Equal(t, "mysql", c.DB.Driver)
	assert.Equal(t, 2*time.Second, c.DB.Wait)
	assert.Error(t, Load("t", []string{"-driver", "x"}, &c), "nested keys exist only with their prefix")
}

// An old spelling of a key (alias tag) still sets the field, with a warning.
func TestAliasWarns(t *testing.T) {
	var cfg struct {
		Max int `key:"max-connections" alias:"max-conns" help:"limit"`
	}
	var warn strings.Builder
	old := Warnings
	Warnings = &warn
	defer func() { Warnings = old }()
	require.NoError(t, Load("t", []string{"-max-conns", "7"}, &cfg))
	assert.Equal(t, 7, cfg.Max)
	assert.Contains(t, warn.String(), `"max-conns" is an old spelling; use "max-connections"`)
	warn.Reset()
	require.NoError(t, Load("t", []string{"-max-connections", "8"}, &cfg))
	assert.Equal(t, 8, cfg.Max)
	assert.Empty(t, warn.String())
}
