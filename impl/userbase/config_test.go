package userbase

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"powermail/impl/config"
)

func TestDefaultsAreValid(t *testing.T) {
	if err := Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNamesTheBadKey(t *testing.T) {
	for key, mutate := range map[string]func(*Config){
		"driver":                 func(c *Config) { c.Driver = "postgres" },
		"db":                     func(c *Config) { c.Path = "" },
		"dsn":                    func(c *Config) { c.Driver = DriverMySQL },
		"table-prefix":           func(c *Config) { c.TablePrefix = "x; DROP" },
		"connect-timeout":        func(c *Config) { c.ConnectTimeout = 0 },
		"query-timeout":          func(c *Config) { c.QueryTimeout = time.Hour },
		"pool-size":              func(c *Config) { c.PoolSize = 0 },
		"cache-negative-ttl":     func(c *Config) { c.CacheNegativeTTL = -time.Second },
		"cache-max-entries":      func(c *Config) { c.CacheMaxEntries = -1 },
		"auth-cache-max-entries": func(c *Config) { c.AuthCacheMaxEntries = 1 << 40 },
	} {
		c := Defaults()
		mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) {
			t.Errorf("%s: Validate() = %v, want an error naming the key", key, err)
		}
	}
}

func TestDSNWithOwnTimeoutsIsRefused(t *testing.T) {
	c := Defaults()
	c.Driver, c.DSN = DriverMySQL, "root@tcp(127.0.0.1:3306)/test?readTimeout=1h"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "query-timeout") {
		t.Fatalf("Validate() = %v", err)
	}
	c.DSN = "root@tcp(127.0.0.1:3306)/test"
	mc, err := c.mysqlConfig()
	if err != nil || mc.ReadTimeout != 3*time.Second || !mc.ClientFoundRows {
		t.Fatalf("mysqlConfig() = %+v, %v", mc, err)
	}
}

func TestHostsAreChecked(t *testing.T) {
	c := Defaults()
	c.Driver, c.DSN = DriverMySQL, "root@tcp(127.0.0.1:3306)/test"
	c.Hosts = []string{"db1:3306", "db2:3306"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"db1"}, {"db1:3306", "db1:3306"}} {
		c.Hosts = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"hosts"`) {
			t.Errorf("hosts %v: %v", bad, err)
		}
	}
	s := Defaults()
	s.Hosts = []string{"db1:3306"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), `"hosts"`) {
		t.Errorf("hosts with sqlite: %v", err)
	}
}

// TestConfigFileAndFlags loads the keys through the shared loader, as the
// daemons and ppadmin do.
func TestConfigFileAndFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "userbase.conf")
	os.WriteFile(file, []byte("# test\ndriver = mysql\ndsn = u@tcp(127.0.0.1:3306)/pm\ncache-positive-ttl = 2m\n"), 0o600)
	c := Defaults()
	if err := config.Load("test", []string{"-config", file, "-pool-size", "3"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Driver != DriverMySQL || c.CachePositiveTTL != 2*time.Minute || c.PoolSize != 3 {
		t.Fatalf("loaded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(file, []byte("dirver = mysql\n"), 0o600)
	if err := config.Load("test", []string{"-config", file}, &c); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// TestExampleConfigIsTheDefaults keeps deploy/config/userbase.conf honest: it
// loads, it states exactly the defaults, and it mentions every key.
// exampleConfig is the commented userbase configuration shipped for operators.
const exampleConfig = "../../deploy/config/userbase.conf"

func TestExampleConfigIsTheDefaults(t *testing.T) {
	var c Config
	if err := config.Load("test", []string{"-config", exampleConfig}, &c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Defaults()) {
		t.Fatalf("example config\n%+v\ndiffers from Defaults()\n%+v", c, Defaults())
	}
	text, _ := os.ReadFile(exampleConfig)
	rt := reflect.TypeOf(c)
	for i := range rt.NumField() {
		if key := rt.Field(i).Tag.Get("key"); !strings.Contains(string(text), key+" =") {
			t.Errorf("key %q is not in %s", key, exampleConfig)
		}
	}
}

// TestEmbeddedInADaemonConfig: daemons embed Config with a prefix tag and
// read the same keys as "userbase-driver", "userbase-dsn", ...
func TestEmbeddedInADaemonConfig(t *testing.T) {
	type daemon struct {
		Listen   string `key:"listen" help:"address"`
		Userbase Config `prefix:"userbase-"`
	}
	d := daemon{Userbase: Defaults()}
	args := []string{"-listen", ":25", "-userbase-driver", "mysql", "-userbase-dsn", "u@tcp(127.0.0.1:3306)/pm"}
	if err := config.Load("powersmtp", args, &d); err != nil {
		t.Fatal(err)
	}
	if d.Userbase.Driver != DriverMySQL || d.Userbase.PoolSize != 10 || d.Userbase.Validate() != nil {
		t.Fatalf("embedded: %+v", d.Userbase)
	}
}
