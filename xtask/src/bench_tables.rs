//! The figures of the guest benches (`bench_guest.rs`), read from the
//! guest's console, and their tables.

use crate::arch::Arch;
use anyhow::{bail, Context, Result};
use std::{collections::BTreeMap, fmt::Write};

/// The clock a guest's figures are in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// QEMU's `-icount shift=0`: a guest nanosecond is one instruction.
    Instructions,
    /// Wall time under emulation: noise, marked as such.
    Wall,
}

impl Clock {
    fn unit(self) -> &'static str {
        match self {
            Clock::Instructions => "instructions",
            Clock::Wall => "ns of wall time (NOT exact: no -icount)",
        }
    }
}

/// The variants of `bench-call`, in the scenario's order, with their labels.
const VARIANTS: &[(&str, &str)] = &[
    ("unpatched", "unpatched"),
    ("floor", "bare ftrace redirect (floor)"),
    ("c", "C livepatch"),
    ("rust", "klp-rs livepatch, Rust"),
    ("mixed", "klp-rs livepatch, C body"),
    ("generated", "cargo xtask generate"),
    ("unpatched-again", "unpatched again"),
];

/// The goal for the cost of a Rust replacement against the C one.
const RUST_OVER_C_GOAL: f64 = 1.02;

/// `bench-call` figures: per variant, the cost of one call in each loop.
#[derive(Debug)]
pub struct Calls {
    per_call: BTreeMap<String, Vec<f64>>,
    loops: usize,
    calls: u64,
}

impl Calls {
    /// From the console's `bench-call VARIANT calls N ns T sum S` lines;
    /// every variant must be there, with as many loops as the others.
    pub fn parse(console: &str) -> Result<Self> {
        let mut per_call: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        let mut calls = 0;
        for line in console.lines() {
            let Some(rest) = line.trim().strip_prefix("bench-call ") else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            let [variant, "calls", n, "ns", t, "sum", _] = f[..] else {
                bail!("a malformed bench-call line: `{line}`");
            };
            let (n, t): (u64, u64) = (
                n.parse().with_context(|| format!("in `{line}`"))?,
                t.parse().with_context(|| format!("in `{line}`"))?,
            );
            if n == 0 {
                bail!("a loop of no calls: `{line}`");
            }
            calls = n;
            per_call
                .entry(variant.to_string())
                .or_default()
                .push(t as f64 / n as f64);
        }
        let loops = per_call.get("unpatched").map_or(0, Vec::len);
        for (v, _) in VARIANTS {
            match per_call.get(*v) {
                Some(l) if l.len() == loops && loops > 0 => {}
                _ => {
                    bail!("the guest printed no complete `{v}` loops (every variant needs {loops})")
                }
            }
        }
        Ok(Self {
            per_call,
            loops,
            calls,
        })
    }

    /// The median cost of one call of `variant`.
    fn median(&self, variant: &str) -> f64 {
        median(&self.per_call[variant])
    }

    /// One arch's table: every variant, its spread, its ratios.
    pub fn arch_table(&self, arch: Arch, clock: Clock) -> String {
        let mut t = format!(
            "{arch}: {} per call of int_sqrt(1000), median of {} loops of {} calls [min..max]\n",
            clock.unit(),
            self.loops,
            self.calls
        );
        let (base, floor) = (self.median("unpatched"), self.median("floor"));
        let _ = writeln!(
            t,
            "  {:<30} {:>9} {:>21} {:>13} {:>13}",
            "variant", "per call", "[min..max]", "/unpatched", "above floor"
        );
        for (v, label) in VARIANTS {
            let l = &self.per_call[*v];
            let (min, max) = min_max(l);
            let m = median(l);
            let above = if matches!(*v, "c" | "rust" | "mixed" | "generated") {
                format!("{:+.2}", m - floor)
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "  {label:<30} {m:>9.2} {:>21} {:>13.3} {above:>13}",
                format!("[{min:.2}..{max:.2}]"),
                m / base
            );
        }
        let rust_c = self.median("rust") / self.median("c");
        let _ = writeln!(
            t,
            "  Rust/C {rust_c:.3} (goal <= {RUST_OVER_C_GOAL}: {}), klp-rs with the C body/C {:.3}, generated/C {:.3}, floor - unpatched {:+.2}",
            if rust_c <= RUST_OVER_C_GOAL { "met" } else { "MISSED" },
            self.median("mixed") / self.median("c"),
            self.median("generated") / self.median("c"),
            floor - base
        );
        t
    }
}

/// Every arch's medians in one table.
pub fn calls_summary(rows: &[(Arch, Calls, Clock)]) -> String {
    let mut t = format!(
        "{:<8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7} {:>9} {:>12} {:>14}  clock\n",
        "arch",
        "unpatched",
        "floor",
        "C",
        "Rust",
        "C body",
        "generated",
        "Rust/C",
        "C body/C",
        "C/unpatched",
        "Rust - floor"
    );
    for (arch, c, clock) in rows {
        let _ = writeln!(
            t,
            "{:<8} {:>10.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10.2} {:>7.3} {:>9.3} {:>12.3} {:>+14.2}  {}",
            arch.name(),
            c.median("unpatched"),
            c.median("floor"),
            c.median("c"),
            c.median("rust"),
            c.median("mixed"),
            c.median("generated"),
            c.median("rust") / c.median("c"),
            c.median("mixed") / c.median("c"),
            c.median("c") / c.median("unpatched"),
            c.median("rust") - c.median("floor"),
            match clock {
                Clock::Instructions => "instructions",
                Clock::Wall => "WALL TIME, not exact",
            }
        );
    }
    t
}

/// `bench-transition` figures: per load and number of functions, each
/// transition's length in guest microseconds.
#[derive(Debug)]
pub struct Transitions {
    times: BTreeMap<(String, u32), Vec<u64>>,
}

impl Transitions {
    /// From the console's `bench-transition LOAD FUNCTIONS MICROSECONDS`.
    pub fn parse(console: &str) -> Result<Self> {
        let mut times: BTreeMap<(String, u32), Vec<u64>> = BTreeMap::new();
        for line in console.lines() {
            let Some(rest) = line.trim().strip_prefix("bench-transition ") else {
                continue;
            };
            let f: Vec<&str> = rest.split_whitespace().collect();
            let [load, n, us] = f[..] else {
                bail!("a malformed bench-transition line: `{line}`");
            };
            times
                .entry((
                    load.to_string(),
                    n.parse().with_context(|| format!("in `{line}`"))?,
                ))
                .or_default()
                .push(us.parse().with_context(|| format!("in `{line}`"))?);
        }
        for load in ["idle", "loaded"] {
            for n in [1, 10, 100] {
                if !times.contains_key(&(load.to_string(), n)) {
                    bail!("the guest timed no {load} transition of {n} functions");
                }
            }
        }
        Ok(Self { times })
    }
}

/// Every arch's transition times: median, p99 and max, in guest ms.
pub fn transitions_table(rows: &[(Arch, Transitions, Clock)]) -> String {
    let mut t = format!(
        "{:<8} {:<7} {:>9} {:>3} {:>11} {:>9} {:>9}  clock\n",
        "arch", "CPUs", "functions", "n", "median (ms)", "p99 (ms)", "max (ms)"
    );
    for (arch, tr, clock) in rows {
        for ((load, n), times) in &tr.times {
            let mut sorted = times.clone();
            sorted.sort_unstable();
            let ms = |us: u64| us as f64 / 1000.0;
            let p99 = sorted[(sorted.len() * 99).div_ceil(100) - 1];
            let _ = writeln!(
                t,
                "{:<8} {load:<7} {n:>9} {:>3} {:>11.3} {:>9.3} {:>9.3}  {}",
                arch.name(),
                sorted.len(),
                ms(sorted[(sorted.len() - 1) / 2]),
                ms(p99),
                ms(sorted[sorted.len() - 1]),
                match clock {
                    Clock::Instructions => "1 ms = 10^6 instructions",
                    Clock::Wall => "WALL TIME, not exact",
                }
            );
        }
    }
    t
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn console(rust_ns: u64) -> String {
        let mut s = String::from("[    1.0] a kernel line\nok 1 target loaded\n");
        for (v, ns) in [
            ("unpatched", 6_000),
            ("floor", 15_000),
            ("c", 17_000),
            ("rust", rust_ns),
            ("mixed", 17_000),
            ("generated", 17_000),
            ("unpatched-again", 6_000),
        ] {
            for extra in [0, 0, 100] {
                s.push_str(&format!(
                    "bench-call {v} calls 100 ns {} sum 3100\n",
                    ns + extra
                ));
            }
        }
        s
    }

    #[test]
    fn calls_are_read_per_variant_with_ratios() {
        let calls = Calls::parse(&console(17_000)).unwrap();
        assert_eq!(calls.loops, 3);
        assert_eq!(calls.median("floor"), 150.0);
        let table = calls.arch_table(Arch::X86_64, Clock::Instructions);
        assert!(
            table.contains("Rust/C 1.000 (goal <= 1.02: met)"),
            "{table}"
        );
        assert!(table.contains("floor - unpatched +90.00"), "{table}");
        assert!(table.contains("[170.00..171.00]"), "{table}");
    }

    #[test]
    fn a_rust_replacement_over_the_goal_is_called_missed() {
        let calls = Calls::parse(&console(18_000)).unwrap();
        let table = calls.arch_table(Arch::S390x, Clock::Instructions);
        assert!(
            table.contains("Rust/C 1.059 (goal <= 1.02: MISSED)"),
            "{table}"
        );
    }

    #[test]
    fn a_missing_variant_is_refused() {
        let partial: String = console(17_000)
            .lines()
            .filter(|l| !l.contains(" generated "))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = Calls::parse(&partial).unwrap_err().to_string();
        assert!(e.contains("no complete `generated` loops"), "{e}");
    }

    #[test]
    fn wall_time_is_marked_as_not_exact() {
        let calls = Calls::parse(&console(17_000)).unwrap();
        let t = calls_summary(&[(Arch::Ppc64le, calls, Clock::Wall)]);
        assert!(t.contains("WALL TIME, not exact"), "{t}");
    }

    #[test]
    fn transitions_have_median_p99_and_max() {
        let mut s = String::new();
        for load in ["idle", "loaded"] {
            for n in [1, 10, 100] {
                for us in [3000, 1000, 2000, 1_500_000] {
                    s.push_str(&format!("bench-transition {load} {n} {us}\n"));
                }
            }
        }
        let tr = Transitions::parse(&s).unwrap();
        let t = transitions_table(&[(Arch::Aarch64, tr, Clock::Instructions)]);
        assert!(
            t.contains("aarch64  loaded        100   4       2.000  1500.000  1500.000"),
            "{t}"
        );
    }

    #[test]
    fn missing_transitions_are_refused() {
        let e = Transitions::parse("bench-transition idle 1 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no idle transition of 10 functions"), "{e}");
    }
}
