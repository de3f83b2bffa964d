// Package emulator is a Snowflake REST endpoint over embedded SQLite
// (modernc.org/sqlite, pure Go) that the real gosnowflake driver (v1.19.1)
// talks to with protocol=http. Tests, CI and users without an account run
// the Snowflake path against it.
//
//	s, err := emulator.Start(emulator.Config{Init: []string{"examples/hybrid-setup.sql"}}, "127.0.0.1:0")
//	if err != nil { … }
//	defer s.Close()
//	db, err := sql.Open("snowflake", s.DSN("user", "password", "APP", "PUBLIC"))
//
// Work in progress: see the full decision record below as it grows.
package emulator
