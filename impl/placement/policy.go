package placement

import "fmt"

// Policy names a placement policy: the value of the `placement`
// configuration key of every daemon and tool.
type Policy string

// The policies (package doc).
const (
	PowerMail  Policy = "powermail"
	Rendezvous Policy = "rendezvous"
)

// ParsePolicy checks a configuration value.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(s); p {
	case PowerMail, Rendezvous:
		return p, nil
	}
	return "", fmt.Errorf("placement %q: want powermail or rendezvous", s)
}

// ParseSpread reads a spread mode: free, most-free, least-load or random.
func ParseSpread(s string) (Spread, error) {
	for sp, name := range spreadNames {
		if name == s {
			return Spread(sp), nil
		}
	}
	return 0, fmt.Errorf("spread %q: want free, most-free, least-load or random", s)
}

var spreadNames = [...]string{SpreadFree: "free", SpreadMostFree: "most-free", SpreadLeastLoad: "least-load", SpreadRandom: "random"}

// String is the configuration spelling of s.
func (s Spread) String() string {
	if int(s) < len(spreadNames) {
		return spreadNames[s]
	}
	return fmt.Sprintf("Spread(%d)", int(s))
}
