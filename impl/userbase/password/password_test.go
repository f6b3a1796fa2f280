package password

import (
	"errors"
	"strings"
	"testing"
)

// cheap keeps the argon2id tests fast; the parameters are read back from
// the stored string, so verification exercises the same code as production.
var cheap = Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}

func TestEachSchemeRoundTrip(t *testing.T) {
	argon, err := HashArgon2id("s3cret", cheap)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{Argon2id: argon}
	for _, s := range []string{Bcrypt, MD5, Plain} {
		if stored[s], err = HashScheme(s, "s3cret"); err != nil {
			t.Fatal(err)
		}
	}
	for scheme, h := range stored {
		if !strings.HasPrefix(h, "{"+scheme+"}") || SchemeOf(h) != scheme {
			t.Errorf("%s: stored form %q lacks its prefix", scheme, h)
		}
		for pw, want := range map[string]bool{"s3cret": true, "s3cret ": false, "S3cret": false, "": false} {
			got, err := Verify(h, pw)
			if err != nil || got != want {
				t.Errorf("%s: Verify(%q) = %v, %v; want %v", scheme, pw, got, err, want)
			}
		}
	}
}

func TestKnownLegacyValues(t *testing.T) {
	// md5("password") as PowerMail's pptool md5 printed it.
	ok, err := Verify("{md5}5f4dcc3b5aa765d61d8327deb882cf99", "password")
	if !ok || err != nil {
		t.Fatalf("known {md5} value: %v %v", ok, err)
	}
	if ok, _ := Verify("{md5}5F4DCC3B5AA765D61D8327DEB882CF99", "password"); !ok {
		t.Fatal("upper-case hex should be accepted")
	}
}

// TestSchemePrefixOnlyAtStart is the PowerMail 1.9 bug: the scheme was found
// anywhere in the string and a bare "{md5}" matched every password.
func TestSchemePrefixOnlyAtStart(t *testing.T) {
	for _, stored := range []string{
		"{md5}",
		"{md5}" + strings.Repeat("0", 31),
		"x{md5}5f4dcc3b5aa765d61d8327deb882cf99",
		"password{plain}password",
		"{plain}",
		"",
		"password",
		"{}password",
		"{PLAIN}password",
		"{argon2id}",
		"{argon2id}$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"{bcrypt}",
		"{crypt}abJnggxhB/yWI",
	} {
		for _, pw := range []string{"password", "", "anything"} {
			if ok, _ := Verify(stored, pw); ok {
				t.Errorf("Verify(%q, %q) matched", stored, pw)
			}
		}
	}
	if _, err := Verify("{md5}", "x"); !errors.Is(err, ErrMalformed) {
		t.Errorf("bare {md5}: err = %v, want ErrMalformed", err)
	}
}

func TestLimits(t *testing.T) {
	long := strings.Repeat("a", MaxPasswordBytes+1)
	if _, err := HashScheme(Plain, long); !errors.Is(err, ErrTooLong) {
		t.Errorf("hash of over-long password: %v", err)
	}
	if ok, _ := Verify("{plain}"+long, long); ok {
		t.Error("over-long password verified")
	}
	if _, err := HashScheme("rot13", "x"); err == nil {
		t.Error("unknown scheme accepted")
	}
}

func TestDefaultIsArgon2id(t *testing.T) {
	h, err := Hash("pw")
	if err != nil || SchemeOf(h) != Argon2id || !strings.Contains(h, "m=19456,t=2,p=1") {
		t.Fatalf("Hash = %q, %v", h, err)
	}
	if ok, err := Verify(h, "pw"); !ok || err != nil {
		t.Fatalf("Verify default: %v %v", ok, err)
	}
}
