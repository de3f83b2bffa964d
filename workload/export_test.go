package workload

// Zeta exposes ζ(n, θ) to the black-box tests.
var Zeta = zeta
