// Package logging builds every daemon's log/slog logger from the same two
// configuration keys, so that powersmtp, powerpop and pplistener log alike:
//
//	log-level  = debug | info | warn | error
//	log-format = text | json
//
// text is slog's key=value form, for people reading a terminal or
// journalctl; json is one object per line, for a log shipper. Both carry
// the same keys (time, level, msg and each call's attributes).
package logging

import (
	"io"
	"log/slog"

	"powermail/impl/config"
)

// The values of log-format.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Config is the logging part of a daemon's configuration; embed it with
// `prefix:""`.
type Config struct {
	Level  string `key:"log-level" help:"debug, info, warn or error"`
	Format string `key:"log-format" help:"text (key=value lines) or json (one object per line)"`
}

// Defaults: info, text.
func Defaults() Config { return Config{Level: "info", Format: FormatText} }

// Validate names the bad key.
func (c Config) Validate() error {
	_, err := c.level()
	if err == nil && c.Format != FormatText && c.Format != FormatJSON {
		err = config.Errorf("log-format", "want %s or %s, not %q", FormatText, FormatJSON, c.Format)
	}
	return err
}

func (c Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return 0, config.Errorf("log-level", "want debug, info, warn or error, not %q", c.Level)
	}
	return l, nil
}

// New returns the logger writing to w (the daemons pass os.Stderr, which
// systemd hands to the journal).
func (c Config) New(w io.Writer) (*slog.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	l, _ := c.level()
	opts := &slog.HandlerOptions{Level: l}
	if c.Format == FormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
