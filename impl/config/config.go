// Package config loads a daemon's configuration from an optional file and
// from command-line flags, in PowerMail's spirit: every key of the file is
// also a flag (--key=value), flags override the file, unknown keys are fatal.
//
// A configuration is a plain struct whose defaults are set in Go before Load
// is called. Each configurable field carries a `key` tag (the name in the file
// and of the flag) and a `help` tag:
//
//	type Config struct {
//		Listen string        `key:"listen" help:"address to listen on"`
//		Idle   time.Duration `key:"idle-timeout" help:"close idle connections after this long"`
//	}
//
// The file format is one "key = value" per line; blank lines and lines whose
// first non-blank character is '#' are ignored. Supported field types: string,
// bool, int, int64, uint64, float64, time.Duration and []string (comma
// separated). A nested struct field tagged `prefix:"userbase-"` adds that
// struct's keys with the prefix. After Load, the daemon calls its own
// Validate, which should return errors made with Errorf so that the message
// names the bad key.
//
// The package is public, and imports nothing of the project, because
// userbase.Config, which ppadmin, devcluster and chaos share with the
// daemons, is such a struct and names its keys with Errorf; a public
// package never imports an internal one (see the README's layout).
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// FileFlag is the flag that names the configuration file.
const FileFlag = "config"

// maxLineBytes bounds one line of a configuration file.
const maxLineBytes = 4096

// Errorf returns a validation error that names the offending key.
func Errorf(key, format string, args ...any) error {
	return fmt.Errorf("config key %q: %s", key, fmt.Sprintf(format, args...))
}

// Load fills dst, a pointer to a tagged struct, from the file named by
// -config (if given) and then from args. name is the program name used in
// usage messages. Errors name the file, line and key.
func Load(name string, args []string, dst any) error {
	fields, err := collect(dst)
	if err != nil {
		return err
	}
	fs := NewFlagSet(name, fields)
	var file string
	fs.StringVar(&file, FileFlag, "", "configuration file (key = value lines); flags override it")
	// First pass only finds -config; values are applied in the second pass
	// so that flags win over the file whatever their order on the line.
	probe := flag.NewFlagSet(name, flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	probe.StringVar(&file, FileFlag, "", "")
	for _, f := range fields {
		probe.Var(discard{isBool: f.isBool()}, f.key, "")
	}
	if err := probe.Parse(args); err != nil {
		return fs.Parse(args) // report the error with full usage
	}
	if file != "" {
		if err := loadFile(file, fields); err != nil {
			return err
		}
	}
	return fs.Parse(args)
}

// NewFlagSet returns a flag set with one flag per field.
func NewFlagSet(name string, fields []Field) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	for _, f := range fields {
		fs.Var(f, f.key, f.help)
	}
	return fs
}

// Field is one configurable struct field; it implements flag.Value.
type Field struct {
	key, help string
	v         reflect.Value
	// renamed is the key's current name when key is an old spelling (the
	// field's `alias` tag): it still works, with a warning.
	renamed string
}

// Warnings receives the warnings of old key spellings (os.Stderr).
var Warnings io.Writer = os.Stderr

func collect(dst any) ([]Field, error) {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil, errors.New("config: destination must be a pointer to a struct")
	}
	return collectStruct(rv.Elem(), "")
}

// collectStruct gathers the tagged fields of rv; a nested struct field with
// a `prefix` tag contributes its own keys, prefixed, so that a daemon can
// embed another package's configuration (the userbase keys, say).
func collectStruct(rv reflect.Value, prefix string) ([]Field, error) {
	var out []Field
	for i := 0; i < rv.NumField(); i++ {
		sf := rv.Type().Field(i)
		if p, ok := sf.Tag.Lookup("prefix"); ok && sf.Type.Kind() == reflect.Struct {
			nested, err := collectStruct(rv.Field(i), prefix+p)
			if err != nil {
				return nil, err
			}
			out = append(out, nested...)
			continue
		}
		key := sf.Tag.Get("key")
		if key == "" {
			continue
		}
		f := Field{key: prefix + key, help: sf.Tag.Get("help"), v: rv.Field(i)}
		if err := f.check(); err != nil {
			return nil, err
		}
		out = append(out, f)
		if alias := sf.Tag.Get("alias"); alias != "" {
			out = append(out, Field{key: prefix + alias, help: "old spelling of " + f.key, v: f.v, renamed: f.key})
		}
	}
	return out, nil
}

var durationType = reflect.TypeOf(time.Duration(0))

func (f Field) check() error {
	switch f.v.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint64, reflect.Float64:
		return nil
	case reflect.Slice:
		if f.v.Type().Elem().Kind() == reflect.String {
			return nil
		}
	}
	return fmt.Errorf("config: key %q has unsupported type %s", f.key, f.v.Type())
}

func (f Field) isBool() bool { return f.v.IsValid() && f.v.Kind() == reflect.Bool }

// IsBoolFlag lets "-readonly" stand for "-readonly=true".
func (f Field) IsBoolFlag() bool { return f.isBool() }

func (f Field) String() string {
	if !f.v.IsValid() {
		return ""
	}
	if f.v.Kind() == reflect.Slice {
		return strings.Join(f.v.Interface().([]string), ",")
	}
	return fmt.Sprint(f.v.Interface())
}

// Set parses s into the field; the error says what was expected.
func (f Field) Set(s string) error {
	if f.renamed != "" {
		fmt.Fprintf(Warnings, "warning: config key %q is an old spelling; use %q\n", f.key, f.renamed)
	}
	switch {
	case f.v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("want a duration such as 30s or 5m: %v", err)
		}
		f.v.SetInt(int64(d))
	case f.v.Kind() == reflect.String:
		f.v.SetString(s)
	case f.v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false")
		}
		f.v.SetBool(b)
	case f.v.Kind() == reflect.Int || f.v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return errors.New("want an integer")
		}
		f.v.SetInt(n)
	case f.v.Kind() == reflect.Uint64:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errors.New("want a non-negative integer")
		}
		f.v.SetUint(n)
	case f.v.Kind() == reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return errors.New("want a number")
		}
		f.v.SetFloat(x)
	default:
		f.v.Set(reflect.ValueOf(splitList(s)))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func loadFile(path string, fields []Field) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer fh.Close()
	byKey := make(map[string]Field, len(fields))
	for _, f := range fields {
		byKey[f.key] = f
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 0, 256), maxLineBytes)
	for n := 1; sc.Scan(); n++ {
		if err := applyLine(sc.Text(), byKey); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func applyLine(line string, byKey map[string]Field) error {
	line = strings.TrimSpace(line)
	if line == "" || line[0] == '#' {
		return nil
	}
	key, value, ok := strings.Cut(line, "=")
	if !ok {
		return fmt.Errorf("want key = value, got %q", line)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	f, known := byKey[key]
	if !known {
		return fmt.Errorf("unknown config key %q", key)
	}
	if err := f.Set(value); err != nil {
		return Errorf(key, "%v", err)
	}
	return nil
}

// discard accepts any value; it lets the first pass skip every other flag.
type discard struct{ isBool bool }

func (discard) String() string     { return "" }
func (discard) Set(string) error   { return nil }
func (d discard) IsBoolFlag() bool { return d.isBool }
