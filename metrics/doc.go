// Package metrics owns every HdrHistogram detail of unistore: one range and
// precision (1 µs to 1 h, 3 significant digits) so any two histograms merge
// exactly; values clamped into that range so recording never fails;
// percentiles asked as 0–100; Merge's dropped count checked; histograms
// stored in the standard base64 V2 compressed encoding (Encode/Decode) that
// any HdrHistogram tool reads. Decode reads a stored row's header first and
// refuses a range or precision wider than unistore's own, since
// hdrhistogram-go allocates whatever counts array a header asks for
// (FuzzDecode keeps it honest).
//
// Each loop owns a Recorder: Record takes no lock and allocates nothing. A
// collector drains every loop's Recorder into an interval Snapshot on a tick
// (see Recorder for the two-atomic handshake that makes that safe without a
// lock); interval snapshots merge into phase totals, worker snapshots into a
// run's rollup — always by merging histograms, never by averaging
// percentiles.
//
// What is recorded per operation: Count (every execution, failures
// included), Errors by core.ErrorClass, the service time of successes
// (actual start to end), in open-model runs their response time (intended
// start to end: the coordinated-omission-corrected figure), and failures'
// service time in a histogram of their own, so a fast failure never makes a
// percentile look better.
package metrics
