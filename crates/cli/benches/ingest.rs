//! Ingest throughput: 200,000 signed observations from 500 sensors into a fresh store with
//! durability on (fsync per group commit), beside the raw Ed25519 verification rate measured in
//! the same run on the same machine.
//!
//! Run: `cargo bench -p truce-cli --bench ingest` (set TRUCE_BENCH_OBS to change the count).

use std::time::Instant;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rayon::prelude::*;
use truce_ingest::{IngestOptions, Keyring, Store};

fn main() {
    let n_obs: usize = std::env::var("TRUCE_BENCH_OBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let n_sensors = 500;
    let t = Instant::now();
    let bulk = truce_sim::bulk::bulk(n_sensors, n_obs, truce_sim::sample::SAMPLE_START);
    println!(
        "generated {n_obs} signed observations from {n_sensors} sensors ({:.1} MB) in {:.2} s",
        bulk.jwsl.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    let keyring = Keyring::new(&bulk.registry).expect("registry");

    // Raw verification: the same envelopes, parsed up front, verified one by one.
    let lines: Vec<&[u8]> = bulk
        .jwsl
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let sample: Vec<(Vec<u8>, Signature, VerifyingKey)> = lines
        .iter()
        .take(40_000)
        .map(|l| {
            let j = truce_ingest::jws::parse(l).expect("jws");
            let (_, _, key) = keyring.get(&j.kid).expect("sensor");
            (j.signing_input.to_vec(), j.signature, *key)
        })
        .collect();
    let t = Instant::now();
    for (m, s, k) in &sample {
        assert!(k.verify(m, s).is_ok());
    }
    let raw_1 = sample.len() as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    sample
        .par_iter()
        .for_each(|(m, s, k)| assert!(k.verify(m, s).is_ok()));
    let raw_all = sample.len() as f64 / t.elapsed().as_secs_f64();
    let threads = rayon::current_num_threads();
    println!("raw Ed25519 verify, one core:         {raw_1:>10.0} signatures/s");
    println!("raw Ed25519 verify, {threads} threads:       {raw_all:>10.0} signatures/s");

    let mut best = 0.0f64;
    let mut last_dir = None;
    for run in 1..=3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let t = Instant::now();
        let mut store = Store::open_or_create(dir.path(), None).expect("store");
        let summary = store
            .ingest(
                &keyring,
                "bench.jwsl",
                &bulk.jwsl,
                &IngestOptions::default(),
                &mut |_| {},
            )
            .expect("ingest");
        store.checkpoint().expect("checkpoint");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(summary.accepted as usize, n_obs);
        let rate = n_obs as f64 / secs;
        best = best.max(rate);
        println!(
            "ingest run {run}: {n_obs} observations in {secs:.2} s = {rate:>10.0} observations/s (fsync per 8192-line group, checkpoint and tiles included)"
        );
        last_dir = Some(dir);
    }
    println!("ingest best:                         {best:>10.0} observations/s");
    if let Some(dir) = last_dir {
        let t = Instant::now();
        let store = Store::open(dir.path()).expect("reopen");
        println!(
            "reopen of the {}-entry store (rehash, rebuild seq state): {:.2} s",
            store.evidence().size(),
            t.elapsed().as_secs_f64()
        );
        drop(store);
        let t = Instant::now();
        assert!(Store::verify(dir.path()).expect("verify").ok());
        println!(
            "offline verify of the store (truce log verify): {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "ingest / raw one-core verify:         {:>10.2} (target >= 0.5); ingest >= 50,000/s: {}",
        best / raw_1,
        if best >= 50_000.0 { "yes" } else { "NO" }
    );
}
