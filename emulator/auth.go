package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// loginRequest is what gosnowflake posts to login-request.
type loginRequest struct {
	Data struct {
		AccountName       string         `json:"ACCOUNT_NAME"`
		LoginName         string         `json:"LOGIN_NAME"`
		Password          string         `json:"PASSWORD"`
		Authenticator     string         `json:"AUTHENTICATOR"`
		Token             string         `json:"TOKEN"`
		SessionParameters map[string]any `json:"SESSION_PARAMETERS"`
	} `json:"data"`
}

// OAuthUser is the user an OAuth login is logged in as.
const OAuthUser = "SERVICE_USER"

var errBadLogin = &Error{Code: "390100", SQLState: "08004", Message: "Incorrect username or password was specified."}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	req := Request{Time: time.Now(), Kind: "login", Status: 200}
	defer func() { s.record(req) }()
	var body loginRequest
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		req.Status = http.StatusBadRequest
		http.Error(w, "emulator: bad login-request body", http.StatusBadRequest)
		return
	}
	d := body.Data
	refuse := func(e *Error, why string) {
		s.stats.loginFailures.Add(1)
		req.Code = e.Code
		s.logf("emulator: login refused for user %q: %s", req.User, why)
		fail(w, e, nil)
	}
	var user User
	switch strings.ToUpper(d.Authenticator) {
	case "", "SNOWFLAKE":
		req.User = strings.ToUpper(d.LoginName)
		u, known := s.users[req.User]
		switch {
		case d.LoginName == "" || d.Password == "":
			refuse(errBadLogin, "empty user or password")
			return
		case len(s.users) == 0:
			user = User{Name: d.LoginName}
		case !known || u.Password == "" || subtle.ConstantTimeCompare([]byte(u.Password), []byte(d.Password)) != 1:
			refuse(errBadLogin, "wrong user or password")
			return
		default:
			user = u
		}
	case "SNOWFLAKE_JWT":
		u, err := s.checkJWT(d.Token, d.AccountName)
		if u.Name != "" {
			req.User = strings.ToUpper(u.Name)
		}
		if err != nil {
			refuse(&Error{Code: "390144", SQLState: "08004", Message: "JWT token is invalid."}, err.Error())
			return
		}
		user = u
	case "OAUTH":
		// A Snowpark Container Services container's login: the session
		// token file's contents. Config.OAuthTokens, if set, lists the
		// tokens accepted; the service user is OAuthUser.
		req.User = OAuthUser
		if d.Token == "" || len(s.cfg.OAuthTokens) > 0 && !slices.Contains(s.cfg.OAuthTokens, d.Token) {
			refuse(&Error{Code: "390303", SQLState: "08004", Message: "Invalid OAuth access token."}, "oauth token")
			return
		}
		user = User{Name: OAuthUser}
	default:
		refuse(&Error{Code: "390100", SQLState: "08004", Message: fmt.Sprintf("emulator: authenticator %s is not emulated (use SNOWFLAKE or SNOWFLAKE_JWT).", strings.ToUpper(d.Authenticator))}, "authenticator")
		return
	}

	q := r.URL.Query()
	db, schema := DefaultDatabase, DefaultSchema
	if v := q.Get("databaseName"); v != "" {
		db = unquoteName(v)
	}
	if v := q.Get("schemaName"); v != "" {
		schema = unquoteName(v)
	}
	wh := DefaultWarehouse
	if v := q.Get("warehouse"); v != "" {
		wh = unquoteName(v)
	}
	role := DefaultRole
	if user.Role != "" {
		role = strings.ToUpper(user.Role)
	}
	if v := q.Get("roleName"); v != "" {
		role = unquoteName(v)
	}
	params := map[string]string{}
	for k, v := range d.SessionParameters {
		params[strings.ToUpper(k)] = fmt.Sprint(v)
	}
	ss, err := s.newSession(strings.ToUpper(user.Name), role, user.ReadWrite, db, schema, wh, params)
	if err != nil {
		e := &Error{Code: "390100", SQLState: "08004", Message: "emulator: cannot open the session's database"}
		s.logf("emulator: login: %v", err)
		refuse(e, "session open failed")
		return
	}
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		ss.close()
		req.Status = http.StatusServiceUnavailable
		http.Error(w, "emulator: closing", http.StatusServiceUnavailable)
		return
	default:
	}
	s.nextID++
	ss.id = s.nextID
	ss.token, ss.master = newToken("ETMsDg"), newToken("ETMsMT")
	s.sessions[ss.id] = ss
	s.tokens[ss.token] = ss
	s.masters[ss.master] = ss
	s.mu.Unlock()
	s.stats.logins.Add(1)
	req.SessionID = ss.id
	s.logf("emulator: login user %s session %d (%s.%s)", ss.user, ss.id, db, schema)

	var sp []nameValue
	sp = append(sp, nameValue{Name: "TIMEZONE", Value: "Etc/UTC"})
	for k, v := range params {
		if k == "CLIENT_VALIDATE_DEFAULT_PARAMETERS" {
			continue
		}
		sp = append(sp, nameValue{Name: k, Value: v})
	}
	ok(w, map[string]any{
		"token":                   ss.token,
		"validityInSeconds":       3600,
		"masterToken":             ss.master,
		"masterValidityInSeconds": 14400,
		"displayUserName":         ss.user,
		"serverVersion":           ServerVersion,
		"firstLogin":              false,
		"healthCheckInterval":     45,
		"sessionId":               ss.id,
		"parameters":              sp,
		"sessionInfo": map[string]string{
			"databaseName":  db,
			"schemaName":    schema,
			"warehouseName": wh,
			"roleName":      role,
		},
	})
}

// unquoteName folds a name from the login query string like an identifier:
// "quoted" keeps its case, anything else is upper-cased.
func unquoteName(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return strings.ReplaceAll(v[1:len(v)-1], `""`, `"`)
	}
	return strings.ToUpper(v)
}

// checkJWT verifies a key-pair login token: RS256 signature with the
// user's public key, iss = ACCOUNT.USER.SHA256:fingerprint of that key,
// sub = ACCOUNT.USER, ACCOUNT matching the login's account, and exp in the
// future. It returns the user even on failure when the subject names one.
func (s *Server) checkJWT(tok, account string) (User, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return User{}, errors.New("not a JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss string  `json:"iss"`
		Sub string  `json:"sub"`
		Exp float64 `json:"exp"`
		Iat float64 `json:"iat"`
	}
	if err := decodeSeg(parts[0], &hdr); err != nil {
		return User{}, err
	}
	if err := decodeSeg(parts[1], &claims); err != nil {
		return User{}, err
	}
	acct, name, okSub := strings.Cut(claims.Sub, ".")
	if !okSub {
		return User{}, errors.New("sub is not ACCOUNT.USER")
	}
	u, known := s.users[strings.ToUpper(name)]
	if !known {
		return User{Name: name}, errors.New("unknown user")
	}
	if hdr.Alg != "RS256" {
		return u, fmt.Errorf("alg %s, want RS256", hdr.Alg)
	}
	wantAcct := strings.ToUpper(account)
	if i := strings.IndexByte(wantAcct, '.'); i > 0 {
		wantAcct = wantAcct[:i]
	}
	if acct != wantAcct {
		return u, errors.New("sub names another account")
	}
	pub, okKey := u.PublicKey.(*rsa.PublicKey)
	if !okKey {
		return u, errors.New("user has no RSA public key")
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return u, err
	}
	fp := sha256.Sum256(der)
	wantIss := fmt.Sprintf("%s.%s.SHA256:%s", acct, strings.ToUpper(name), base64.StdEncoding.EncodeToString(fp[:]))
	if claims.Iss != wantIss {
		return u, errors.New("iss does not match the user's key fingerprint")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return u, err
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
		return u, errors.New("bad signature")
	}
	if claims.Exp != 0 && time.Unix(int64(claims.Exp), 0).Before(time.Now()) {
		return u, errors.New("expired")
	}
	return u, nil
}

func decodeSeg(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("bad JWT segment: %w", err)
	}
	return json.Unmarshal(b, v)
}
