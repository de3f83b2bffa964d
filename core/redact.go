package core

import (
	"net/url"
	"regexp"
	"strings"
)

// secretKeys are DSN parameter names whose values are secrets.
var secretKeys = regexp.MustCompile(`(?i)^(password|passwd|pwd|token|private_?key|privatekey|private_key_file_pwd|passcode|secret|oauth.*|sslpassword|client_?secret|privatekeycontent)$`)

// RedactDSN replaces the password and every secret parameter of a DSN with
// "xxxxx". It handles URL DSNs (scheme://user:pass@host/db?password=…) and
// keyword/value DSNs (host=… password=…). Use it on every DSN that is
// printed, logged or stored.
func RedactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	if i := strings.Index(dsn, "://"); i > 0 {
		u, err := url.Parse(dsn)
		if err != nil {
			return redactOpaque(dsn)
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
		}
		q := u.Query()
		changed := false
		for k := range q {
			if secretKeys.MatchString(k) {
				q.Set(k, "xxxxx")
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	return redactKV(dsn)
}

var kvPair = regexp.MustCompile(`(?i)\b([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

func redactKV(dsn string) string {
	return kvPair.ReplaceAllStringFunc(dsn, func(m string) string {
		sub := kvPair.FindStringSubmatch(m)
		if secretKeys.MatchString(sub[1]) {
			return sub[1] + "=xxxxx"
		}
		return m
	})
}

// redactOpaque handles a URL-looking DSN url.Parse rejects: drop everything
// between "://" and the last "@" after the user name.
func redactOpaque(dsn string) string {
	i := strings.Index(dsn, "://")
	rest := dsn[i+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user := rest[:at]
		if c := strings.Index(user, ":"); c >= 0 {
			user = user[:c] + ":xxxxx"
		}
		rest = user + rest[at:]
	}
	return dsn[:i+3] + redactKV(rest)
}

// StripSecrets returns dsn without its password and secret parameters (the
// ones RedactDSN masks), and whether it removed any: for a DSN that is kept
// to be used again (a saved template), where the secret must come from the
// environment at run time (PGPASSWORD, say) rather than be a mask that
// would be sent as the password.
func StripSecrets(dsn string) (string, bool) {
	if RedactDSN(dsn) == dsn {
		return dsn, false
	}
	if i := strings.Index(dsn, "://"); i > 0 {
		u, err := url.Parse(dsn)
		if err != nil {
			return RedactDSN(dsn), true
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for k := range q {
			if secretKeys.MatchString(k) {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		return u.String(), true
	}
	out := kvPair.ReplaceAllStringFunc(dsn, func(m string) string {
		if secretKeys.MatchString(kvPair.FindStringSubmatch(m)[1]) {
			return ""
		}
		return m
	})
	return strings.Join(strings.Fields(out), " "), true
}
