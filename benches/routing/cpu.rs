//! Where the two cores went during a timed section: CPU seconds used by
//! this process (the relay or the peer), the broker (`beam.smp`) and the
//! database (every `postgres` process), read from /proc before and after.
//! On a machine without /proc the columns read 0.

use std::collections::HashMap;

/// Cumulative CPU ticks (user + system) by group.
#[derive(Clone, Copy, Default)]
pub struct Cpu {
    pub us: u64,
    pub broker: u64,
    pub database: u64,
}

impl Cpu {
    pub fn now() -> Self {
        let mut by_name: HashMap<String, u64> = HashMap::new();
        let me = std::process::id().to_string();
        let mut us = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = entry.file_name().to_string_lossy().to_string();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // `pid (comm) state ...`: comm may hold spaces, so split at the
            // last ')'. utime and stime are fields 14 and 15.
            let Some((head, rest)) = stat.rsplit_once(')') else {
                continue;
            };
            let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
            let ticks = field(11).unwrap_or(0) + field(12).unwrap_or(0);
            if pid == me {
                us = ticks;
            } else {
                *by_name.entry(comm.to_string()).or_default() += ticks;
            }
        }
        Self {
            us,
            broker: by_name.get("beam.smp").copied().unwrap_or(0),
            database: by_name.get("postgres").copied().unwrap_or(0),
        }
    }

    /// CPU seconds since `earlier`, as "us / broker / database".
    pub fn since(&self, earlier: &Cpu) -> String {
        // USER_HZ is 100 on every Linux this runs on.
        let s = |a: u64, b: u64| a.saturating_sub(b) as f64 / 100.0;
        format!(
            "{:.1} / {:.1} / {:.1}",
            s(self.us, earlier.us),
            s(self.broker, earlier.broker),
            s(self.database, earlier.database)
        )
    }
}
