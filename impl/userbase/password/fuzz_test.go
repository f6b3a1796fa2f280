package password

import (
	"strings"
	"testing"
)

// FuzzVerify: no stored value crashes Verify, and a value that does not
// start with a known "{scheme}" never matches (the PowerMail bug class).
func FuzzVerify(f *testing.F) {
	for _, s := range []string{"{md5}", "{plain}x", "x{md5}5f4dcc3b5aa765d61d8327deb882cf99",
		"{argon2id}$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "{bcrypt}$2a$04$x"} {
		f.Add(s, "password")
	}
	f.Fuzz(func(t *testing.T, stored, pw string) {
		ok, _ := Verify(stored, pw)
		known := false
		for _, s := range []string{Argon2id, Bcrypt, MD5, Plain} {
			known = known || strings.HasPrefix(stored, "{"+s+"}")
		}
		if ok && (!known || pw == "") {
			t.Fatalf("Verify(%q, %q) matched", stored, pw)
		}
		if ok && strings.HasPrefix(stored, "{plain}") && stored != "{plain}"+pw {
			t.Fatalf("{plain} matched a different password")
		}
	})
}
