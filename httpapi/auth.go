package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/unistore-bench/unistore/core"
)

// cookieName is the browser session's cookie, set by /?token= or the
// login form.
const cookieName = "unistore_session"

// tokenOK compares a presented token with the server's in constant time:
// both are hashed first, so not even the length leaks.
func (s *Server) tokenOK(presented string) bool {
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256([]byte(s.cfg.Token))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// session is the cookie's value: derived from the token, not the token,
// so the cookie cannot be replayed as a Bearer token elsewhere.
func (s *Server) session() string {
	m := hmac.New(sha256.New, []byte(s.cfg.Token))
	m.Write([]byte("unistore session v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// authorized reports whether r carries the token: as a Bearer token, as
// the session cookie, or — for the WebSocket, which a browser opens
// without headers — as ?token=.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		return ok && strings.EqualFold(scheme, "Bearer") && s.tokenOK(strings.TrimSpace(tok))
	}
	if c, err := r.Cookie(cookieName); err == nil {
		want := s.session()
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(want)) == 1
	}
	if strings.HasSuffix(r.URL.Path, "/live") {
		if tok := r.URL.Query().Get("token"); tok != "" {
			return s.tokenOK(tok)
		}
	}
	return false
}

// requireToken answers 401 to a request without the token.
func (s *Server) requireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="unistore"`)
			writeError(w, http.StatusUnauthorized, "unauthorized: give Authorization: Bearer TOKEN (or log in at /)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// guard applies to every request. Without a token the server trusts
// whoever reaches it, so it only answers requests naming a loopback host
// (a web page cannot then reach it through a DNS name it rebinds to
// 127.0.0.1). Always: a request that changes something and comes from a
// page of another origin is refused (with the session cookie being
// SameSite=Strict, this is the second lock on cross-site requests).
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Token == "" {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if !isLoopbackHost(strings.Trim(host, "[]")) {
				writeError(w, http.StatusForbidden, "host "+r.Host+" not allowed: without a token the server answers loopback names only")
				return
			}
		}
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if o := r.Header.Get("Origin"); o != "" {
				u, err := url.Parse(o)
				if err != nil || u.Host != r.Host {
					writeError(w, http.StatusForbidden, "cross-origin request refused")
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// setSession gives the browser its session cookie: HttpOnly (scripts
// never see it), SameSite=Strict, Secure behind TLS.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.session(), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// handleLogin is the login form's POST: token=TOKEN.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if s.cfg.Token == "" || s.tokenOK(r.PostFormValue("token")) {
		if s.cfg.Token != "" {
			s.setSession(w, r)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.log.Warn("httpapi: login refused", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/?login=failed", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

var (
	// urlish finds DSN-like URLs in free text.
	urlish = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)
	// secretKV finds key=value secrets (libpq keyword DSNs, query strings).
	secretKV = regexp.MustCompile(`(?i)\b(password|passwd|pwd|passphrase|token|secret|private_key_passphrase)\s*=\s*('[^']*'|[^\s&;]+)`)
)

// scrub redacts what could be a secret in text bound for a response or
// the log: every URL's password (core.RedactDSN) and key=value secrets.
// The library already redacts DSNs in its errors; this is the second
// line, for text that passed through a driver or the network stack.
func scrub(text string) string {
	text = urlish.ReplaceAllStringFunc(text, core.RedactDSN)
	return secretKV.ReplaceAllString(text, "$1=xxxxx")
}
