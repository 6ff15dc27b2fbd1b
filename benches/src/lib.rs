//! Benchmarks: `benches/requests.rs` (criterion: signing, verification, bcrypt, the
//! in-process handlers) and `src/bin/cold_start.rs` (exec to first poll and to first
//! answer, for every function binary and a hello-world Lambda built the same way).
//! `scripts/bench.sh` runs them all; results go to BENCHMARKS.md.
