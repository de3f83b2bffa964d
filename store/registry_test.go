package store_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/store"
)

type nopBackend struct{}

func (nopBackend) Open(context.Context, string) (store.Store, error) { return store.NewMemory(), nil }
func (nopBackend) ApplySchema(context.Context, string) error         { return nil }

func TestRegister(t *testing.T) {
	store.Register("nop-test", nopBackend{})
	if !slices.IsSorted(store.Schemes()) || !slices.Contains(store.Schemes(), "nop-test") {
		t.Errorf("Schemes() = %v, want sorted with nop-test", store.Schemes())
	}
	st, err := store.Open(context.Background(), "NOP-TEST://x")
	if err != nil {
		t.Fatalf("Open through a registered backend: %v", err)
	}
	st.Close()
	for name, f := range map[string]func(){
		"nil":       func() { store.Register("x-nil", nil) },
		"empty":     func() { store.Register("", nopBackend{}) },
		"uppercase": func() { store.Register("X", nopBackend{}) },
		"duplicate": func() { store.Register("nop-test", nopBackend{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register %s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestUnknownStore(t *testing.T) {
	for _, dsn := range []string{"mysql://u:pw@h/db", "no-scheme"} {
		_, err := store.Open(context.Background(), dsn)
		if !errors.Is(err, store.ErrUnknownStore) {
			t.Errorf("Open(%q) = %v, want ErrUnknownStore", dsn, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("Open(%q): error shows the password: %v", dsn, err)
		}
	}
	_, err := store.Open(context.Background(), "mysql://h/db")
	if want := `store: unknown store "mysql" (forgotten import?)`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want %s…", err, want)
	}
}
