//! Load-and-validate throughput of grpo-dataset, in MB/s of JSONL.
//!
//! Writes about 64 MB of synthetic records (pretty prompts, the guide's
//! shape) to a temporary file, then times `grpo_dataset::load` on it, with
//! and without extracting the function list from each prompt, and the same
//! for the gzip-compressed file. The goal is at least 50 MB/s on one core.
//!
//! `cargo bench -p grpo-benches --bench dataset`

use std::path::Path;
use std::time::Instant;

use grpo_dataset::synth::{generate, SynthConfig};
use grpo_dataset::{load, write_jsonl, LoadOptions};

/// Best of `reps` runs, in MB/s (10^6 bytes of uncompressed JSONL).
fn throughput(path: &Path, opts: &LoadOptions, reps: u32) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut records = 0;
    let mut bytes = 0;
    for _ in 0..reps {
        let start = Instant::now();
        let loaded = load(path, opts).expect("the generated file loads");
        best = best.min(start.elapsed().as_secs_f64());
        records = loaded.examples.len();
        bytes = loaded.report.bytes;
    }
    (bytes as f64 / 1e6 / best, records)
}

/// Best of `reps` runs of the streaming reader alone, in MB/s.
fn decode_only(path: &Path, reps: u32) -> Result<(f64, usize), grpo_dataset::Error> {
    let mut best = f64::INFINITY;
    let mut records = 0;
    let mut bytes = 0;
    for _ in 0..reps {
        let start = Instant::now();
        let mut reader = grpo_dataset::reader::open(path)?;
        records = 0;
        for item in reader.by_ref() {
            let (_, decoded) = item?;
            records += usize::from(decoded.is_ok());
        }
        best = best.min(start.elapsed().as_secs_f64());
        bytes = reader.bytes_read();
    }
    Ok((bytes as f64 / 1e6 / best, records))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let examples = generate(&SynthConfig {
        n: 60_000,
        seed: 1,
        ..SynthConfig::default()
    })?;
    let plain = dir.path().join("bench.jsonl");
    let gz = dir.path().join("bench.jsonl.gz");
    write_jsonl(&plain, &examples)?;
    write_jsonl(&gz, &examples)?;
    let size = std::fs::metadata(&plain)?.len();
    println!(
        "dataset: {} records, {:.1} MB JSONL ({:.1} MB gzip)",
        examples.len(),
        size as f64 / 1e6,
        std::fs::metadata(&gz)?.len() as f64 / 1e6
    );
    drop(examples);

    let full = LoadOptions::default();
    let no_tools = LoadOptions {
        extract_tools: false,
        ..LoadOptions::default()
    };
    let (mb_s, n) = decode_only(&plain, 3)?;
    println!("decode only (reader, no checks)       : {mb_s:7.1} MB/s ({n} records, one thread)");
    for (name, path, opts) in [
        ("load+validate .jsonl (tools extracted)", &plain, &full),
        ("load+validate .jsonl (no extraction)  ", &plain, &no_tools),
        ("load+validate .jsonl.gz (tools)       ", &gz, &full),
    ] {
        let (mb_s, n) = throughput(path, opts, 3);
        println!("{name}: {mb_s:7.1} MB/s ({n} records, one thread)");
    }
    Ok(())
}
