package backendview

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"powermail/impl/mail"
)

// Static is a fixed membership from the configuration.
type Static []mail.Member

// Members returns the list.
func (s Static) Members(context.Context) ([]mail.Member, error) { return s, nil }

// ParseMembers reads PowerMail's backend syntax, one entry per element:
// "group:priority:host:port". A trailing ":ro" marks the backend read-only.
func ParseMembers(specs []string) (Static, error) {
	var out Static
	seen := map[string]bool{}
	for _, spec := range specs {
		m, err := parseMember(spec)
		if err != nil {
			return nil, err
		}
		if seen[m.Addr] {
			return nil, fmt.Errorf("backend %q listed twice", m.Addr)
		}
		seen[m.Addr] = true
		out = append(out, m)
	}
	return out, nil
}

func parseMember(spec string) (mail.Member, error) {
	parts := strings.Split(spec, ":")
	ro := len(parts) == 5 && parts[4] == "ro"
	if ro {
		parts = parts[:4]
	}
	if len(parts) != 4 || parts[0] == "" || parts[2] == "" {
		return mail.Member{}, fmt.Errorf("backend %q: want group:priority:host:port[:ro]", spec)
	}
	prio, err := strconv.Atoi(parts[1])
	if err != nil {
		return mail.Member{}, fmt.Errorf("backend %q: priority %q is not a number", spec, parts[1])
	}
	if _, err := strconv.ParseUint(parts[3], 10, 16); err != nil {
		return mail.Member{}, fmt.Errorf("backend %q: bad port %q", spec, parts[3])
	}
	return mail.Member{Addr: parts[2] + ":" + parts[3], Group: parts[0], Priority: prio, ReadOnly: ro}, nil
}
