// Package sfenv turns off gosnowflake's native minicore before gosnowflake
// is initialized.
//
// gosnowflake starts loading its minicore (an embedded native library it
// writes to a temporary directory and dlopens) from its own init, reading
// SF_DISABLE_MINICORE there, so a Setenv in driver/snowflake's code would
// come too late. This package's init sets SF_DISABLE_MINICORE=true unless
// the user set it. It imports only os: by the Go specification's package
// initialization order (packages sorted by import path; in each step the
// first uninitialized package whose imports are all initialized is
// initialized), it is ready as soon as os is, while gosnowflake is ready
// only after packages that sort after this one (net/http, golang.org/x/…)
// — so this package is always initialized first. driver/snowflake's test
// TestMinicoreInitOrder checks the order with GODEBUG=inittrace=1.
package sfenv

import "os"

// DisableMinicore is the environment variable gosnowflake reads in init.
const DisableMinicore = "SF_DISABLE_MINICORE"

// SetByUs reports whether this package's init set DisableMinicore (false
// when the user had set it, to any value).
var SetByUs bool

func init() {
	if _, ok := os.LookupEnv(DisableMinicore); !ok {
		os.Setenv(DisableMinicore, "true")
		SetByUs = true
	}
}
