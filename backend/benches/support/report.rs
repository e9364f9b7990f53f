//! Shared by the benchmark drivers (`benches/checkout.rs`, `examples/realtime_load.rs`): rows
//! for the load report and a process's resident memory.

use std::io::Write;

/// One tab-separated row for the load report (`infra/bench/report.sh`), when `REPORT_ROWS`
/// names a file.
pub fn row(cells: &[String]) {
    let Ok(path) = std::env::var("REPORT_ROWS") else {
        return;
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the report rows file opens");
    writeln!(file, "{}", cells.join("\t")).expect("the report row is written");
}

/// The resident memory of process `pid` (`self` for this one), in MiB; 0 if it is gone.
pub fn rss_mib(pid: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}
