package httpapi

import (
	"embed"
	"io/fs"
	"net/http"
)

// The web UI: plain HTML, CSS and JavaScript embedded in the binary, so
// it works offline and needs no build step.
//
//go:embed ui
var uiFiles embed.FS

// uiHandler serves the UI: "/" is the page, "/ui/…" its files. The page
// holds no data (the API does, behind the token), so it is served to
// anyone; "/?token=TOKEN" sets the session cookie and drops the token
// from the address bar.
func (s *Server) uiHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws://"+r.Host+" wss://"+r.Host+
			"; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		switch {
		case r.URL.Path == "/":
			if tok, ok := r.URL.Query()["token"]; ok && s.cfg.Token != "" {
				if len(tok) == 1 && s.tokenOK(tok[0]) {
					s.setSession(w, r)
					http.Redirect(w, r, "/", http.StatusSeeOther)
					return
				}
				s.log.Warn("httpapi: login refused", "remote", r.RemoteAddr)
				http.Redirect(w, r, "/?login=failed", http.StatusSeeOther)
				return
			}
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, sub, "index.html")
		case len(r.URL.Path) > len("/ui/") && r.URL.Path[:len("/ui/")] == "/ui/":
			w.Header().Set("Cache-Control", "no-cache")
			files.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}
