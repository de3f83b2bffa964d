// Package drivertest is the conformance suite every unistore driver passes.
//
// A driver's test calls Run with a function that returns a Target: a
// Connector on an empty database, a helper that runs setup SQL outside the
// connector, and the column types the dialect uses for each core.Kind.
//
// Decisions recorded here:
//   - Run opens one Target and every check uses its own tables (named after
//     the check), so a PostgreSQL suite needs one fresh database, not one
//     per check.
//   - Checks use only SQL both PostgreSQL and SQLite accept; dialect
//     differences are confined to Target.Types.
//   - Classification is checked through driver.Classify(Target.Connector,
//     err), the path the runner takes.
//   - Timing checks (a cancelled context returns "promptly") allow a second,
//     generous on a shared, noisy machine.
//   - A connector that is a driver.Multiplexer with an engine runs every
//     check a second time, on a second Target, with each Exec going
//     through Engine.Serve (one execution per Serve): the engine's wire
//     code meets the same expectations as Stmt.Exec's.
package drivertest
