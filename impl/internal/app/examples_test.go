package app

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"powermail/impl/config"
	"powermail/impl/placement"
)

// The shipped example configurations load (no unknown keys, no bad values)
// and validate.
func TestExampleConfigsAreValid(t *testing.T) {
	_, here, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(here), "..", "..", "..", "deploy", "config")

	smtp := DefaultSMTPConfig()
	require.NoError(t, config.Load("powersmtp", []string{"-config", filepath.Join(dir, "powersmtp.conf")}, &smtp))
	require.NoError(t, smtp.Validate())
	require.Equal(t, "mx1.example.net", smtp.SMTP.Hostname)
	require.Len(t, smtp.Userbase.Hosts, 3, "the layout's three database nodes")

	pop := DefaultPOPConfig()
	require.NoError(t, config.Load("powerpop", []string{"-config", filepath.Join(dir, "powerpop.conf")}, &pop))
	require.NoError(t, pop.Validate())
	require.Equal(t, "pop1.example.net", pop.POP.Hostname)
}

func TestValidateNamesTheKey(t *testing.T) {
	c := DefaultSMTPConfig()
	c.WriteQuorum = 3
	require.ErrorContains(t, c.Validate(), `"write-quorum"`)
	c = DefaultSMTPConfig()
	c.Backend.Backends = []string{"nonsense"}
	require.ErrorContains(t, c.Validate(), `"backends"`)
	p := DefaultPOPConfig()
	p.Backend.Redundancy = 0
	require.ErrorContains(t, p.Validate(), `"redundancy"`)
	p = DefaultPOPConfig()
	p.Backend.Placement = "nearest"
	require.ErrorContains(t, p.Validate(), `"placement"`)
	p.Backend.Placement, p.Backend.Backends = placement.Rendezvous, []string{"1:0:127.0.0.1:1101"}
	require.ErrorContains(t, p.Validate(), `"placement"`, "rendezvous needs the history of the backends table")
	c = DefaultSMTPConfig()
	c.Spread = "load"
	require.ErrorContains(t, c.Validate(), `"spread"`)
}
