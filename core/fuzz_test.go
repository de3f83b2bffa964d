package core_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/unistore-bench/unistore/core"
)

// FuzzRedactDSN: whatever the DSN, redaction never panics, and a password
// that url.Parse finds — in the user info or a password parameter — is
// absent from RedactDSN's and StripSecrets' output.
func FuzzRedactDSN(f *testing.F) {
	for _, seed := range []string{
		"postgres://bob:secret@db:5432/bench?sslmode=disable",
		"postgres://bob@db/bench?password=secret&application_name=x",
		"host=db user=bob password=secret dbname=bench",
		"host=db password='se cret' user=bob",
		"snowflake://u:secret@acct/db/schema?warehouse=w&privateKey=secret",
		"sqlite://./x.db", "postgres://bob:sec%2Fret@db/x", "postgres://b:s@[::1/x",
		"postgres://bob:" + strings.Repeat("p", 1<<20) + "@db/x",
		"postgres://bob:s\x00cret@db/x", "://", "", "postgres://:@/?password=&password=secret",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		red := core.RedactDSN(dsn)
		stripped, _ := core.StripSecrets(dsn)
		u, err := url.Parse(dsn)
		if err != nil || !strings.Contains(dsn, "://") {
			return
		}
		var secrets []string
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
		secrets = append(secrets, u.Query()["password"]...)
		for _, s := range secrets {
			// Short secrets occur by chance elsewhere (in a host name, say).
			if len(s) < 6 || s == "xxxxx" || strings.Count(dsn, s) != 1 {
				continue
			}
			if strings.Contains(red, s) {
				t.Fatalf("RedactDSN(%q) = %q keeps the secret %q", dsn, red, s)
			}
			if strings.Contains(stripped, s) {
				t.Fatalf("StripSecrets(%q) = %q keeps the secret %q", dsn, stripped, s)
			}
		}
	})
}
