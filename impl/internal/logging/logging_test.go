package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONIsOneObjectPerLine(t *testing.T) {
	var buf bytes.Buffer
	log, err := Config{Level: "info", Format: "json"}.New(&buf)
	require.NoError(t, err)
	log.Info("listening", "addr", "127.0.0.1:25")
	log.Debug("not shown at info")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &rec))
	require.Equal(t, "listening", rec["msg"])
	require.Equal(t, "INFO", rec["level"])
	require.Equal(t, "127.0.0.1:25", rec["addr"])
}

func TestTextIsKeyValue(t *testing.T) {
	var buf bytes.Buffer
	log, err := Config{Level: "debug", Format: "text"}.New(&buf)
	require.NoError(t, err)
	log.Debug("hello", "n", 3)
	require.Contains(t, buf.String(), "level=DEBUG msg=hello n=3")
}

func TestBadValuesNameTheirKey(t *testing.T) {
	require.ErrorContains(t, Config{Level: "loud", Format: "text"}.Validate(), `"log-level"`)
	require.ErrorContains(t, Config{Level: "info", Format: "xml"}.Validate(), `"log-format"`)
	require.NoError(t, Defaults().Validate())
}
