package driver_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/driver"
	_ "github.com/unistore-bench/unistore/driver/postgres"
	_ "github.com/unistore-bench/unistore/driver/sqlite"
)

type fakeDriver struct{ schemes []string }

func (fakeDriver) OpenConnector(string) (driver.Connector, error) { return nil, errors.New("fake") }
func (f fakeDriver) Schemes() []string                            { return f.schemes }

func TestUnknownDriver(t *testing.T) {
	_, _, err := driver.Resolve("", "x://somewhere/db")
	if err == nil {
		t.Fatal("Resolve of an unknown scheme succeeded")
	}
	if got, want := err.Error(), `unknown driver "x" (forgotten import?)`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if !errors.Is(err, driver.ErrUnknownDriver) {
		t.Errorf("error %v does not match ErrUnknownDriver", err)
	}
	if _, _, err := driver.Resolve("nosuch", "postgres://h/db"); err == nil || err.Error() != `unknown driver "nosuch" (forgotten import?)` {
		t.Errorf("Resolve by unknown name: %v", err)
	}
	if _, _, err := driver.Resolve("", "host=h password=s3cret"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Resolve of a scheme-less DSN: %v, want an error without the password", err)
	}
}

func TestSchemeResolution(t *testing.T) {
	for _, tc := range []struct{ name, dsn, want string }{
		{"", "postgres://u@h/db", "postgres"},
		{"", "postgresql://u@h/db", "postgres"},
		{"", "PostgreSQL://u@h/db", "postgres"},
		{"", "sqlite://./bench.db", "sqlite"},
		{"", "sqlite:///abs/bench.db", "sqlite"},
		{"postgres", "host=h dbname=db", "postgres"},
		{"sqlite", "sqlite://x.db", "sqlite"},
	} {
		got, d, err := driver.Resolve(tc.name, tc.dsn)
		if err != nil || got != tc.want || d == nil {
			t.Errorf("Resolve(%q, %q) = %q, %v, %v; want %q", tc.name, tc.dsn, got, d, err, tc.want)
		}
	}
	names := driver.Drivers()
	if !slices.IsSorted(names) || !slices.Contains(names, "postgres") || !slices.Contains(names, "sqlite") {
		t.Errorf("Drivers() = %v, want sorted with postgres and sqlite", names)
	}
	if slices.Contains(names, "postgresql") {
		t.Errorf("Drivers() = %v lists a scheme as a driver", names)
	}
}

func TestRegisterPanics(t *testing.T) {
	driver.Register("drivertest-fake", fakeDriver{schemes: []string{"drivertest-fake-scheme"}})
	for _, tc := range []struct {
		name string
		d    driver.Driver
		want string
	}{
		{"drivertest-nil", nil, "nil"},
		{"", fakeDriver{}, "empty name"},
		{"drivertest-fake", fakeDriver{}, "twice"},
		{"postgres", fakeDriver{}, "twice"},
		{"drivertest-fake2", fakeDriver{schemes: []string{"postgresql"}}, "claimed twice"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil {
					t.Errorf("Register(%q, %v) did not panic", tc.name, tc.d)
					return
				}
				if s, _ := r.(string); !strings.Contains(s, tc.want) {
					t.Errorf("Register(%q) panicked with %v, want it to mention %q", tc.name, r, tc.want)
				}
			}()
			driver.Register(tc.name, tc.d)
		}()
	}
	if name, _, err := driver.Resolve("", "drivertest-fake-scheme://x"); err != nil || name != "drivertest-fake" {
		t.Errorf("claimed scheme resolves to %q, %v", name, err)
	}
}
