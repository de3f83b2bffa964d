// Package core holds the plain types that several unistore packages share:
// Spec (what a user sets), Result (what a run reports), Phase, Status,
// Value (one bound parameter), ErrorClass, and the placeholder and DSN
// redaction helpers. It imports nothing of ours; the root package
// re-exports its types, so users write unistore.Spec.
//
// Decisions recorded here:
//   - Templates use "?" placeholders; each driver rewrites them ("$1" on
//     PostgreSQL). "?" inside literals, quoted identifiers, dollar quotes
//     and comments is left alone.
//   - Errors are counted in a fixed set of classes (ErrorClass), so a loop
//     counts them in an array without a map or an allocation; the exact
//     SQLSTATE travels with query executions.
//   - Value is a struct, not an interface, so parameters are generated into
//     reused slices without boxing.
//   - A Spec never holds a runtime dependency; every DSN that leaves the
//     process goes through RedactDSN.
package core
