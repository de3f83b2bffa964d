// Package httpapi is unistore's HTTP controller: a REST API over the
// run-management API of package unistore, a live WebSocket stream per
// run, Prometheus /metrics, and a web UI embedded in the binary.
// `unistore serve` runs it; a program can mount Server.Handler itself.
//
// Its decisions are recorded in this file as they are made.
package httpapi
