//! `cargo xtask qemu --arch A --suite S`: builds what is missing, boots the
//! guest under QEMU (software emulation unless `--kvm` works here), runs one
//! scenario and reads its KTAP results from the serial console.

use crate::{
    arch::Arch, cache::Cache, debug_kernel, guest_tools, initramfs, kernel, klp_tool, ktap,
    modules, run, samples, seed, selftests, setup, Failed,
};
use anyhow::{bail, Context, Result};
use std::{
    fs::File,
    io::{BufRead, BufReader, Write},
    path::PathBuf,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// How long a guest may run before it is killed. A TCG boot to a verdict
/// takes about 2 s here; the margin covers a loaded machine.
const DEFAULT_TIMEOUT_SECS: u64 = 180;
/// The same for the suites that run a hundred livepatch transitions or
/// more (`selftests*`, `klp`): on 2 CPUs each waits for the kernel's retry a
/// second later, which makes them take 65 to 135 s under TCG here, longer
/// while a kernel builds beside them; and a failing selftest script waits
/// up to 60 s at each step before it gives up, its report worth waiting for.
const LONG_TIMEOUT_SECS: u64 = 600;
/// The `stress` suite: 200 transitions, each a second or more (the kernel
/// retries an unfinished transition every second); `bench-transition`:
/// fewer, but under `-icount` a busy guest second is 10^9 instructions.
const STRESS_TIMEOUT_SECS: u64 = 1500;
/// The `packages` suites: each install, upgrade and downgrade runs dpkg's
/// scripts and `update-initramfs` (10 to 60 s each under TCG, the latter
/// on a loaded host).
const PACKAGES_TIMEOUT_SECS: u64 = 1200;
/// The suite of [`Guest::shell`]: `qemu/guest/scenarios/shell.sh`.
pub const SHELL: &str = "shell";
/// vCPUs of every guest.
pub const GUEST_CPUS: u32 = 2;
/// Memory of a guest with a disk, in MiB.
const DISK_GUEST_MIB: u32 = 1024;
/// How long a KVM probe boot may take before KVM is declared broken.
const KVM_PROBE_SECS: u64 = 20;

/// How long a guest running `suite` may take before it is killed, in seconds.
pub fn suite_timeout(suite: &str) -> u64 {
    if suite == "stress" || suite == "bench-transition" {
        return STRESS_TIMEOUT_SECS;
    }
    if suite.starts_with(crate::packages_suite::SUITE) {
        return PACKAGES_TIMEOUT_SECS;
    }
    if suite.starts_with("selftests")
        || suite == "klp"
        || suite == "samples"
        || suite == crate::corpus::SUITE
    {
        LONG_TIMEOUT_SECS
    } else {
        DEFAULT_TIMEOUT_SECS
    }
}

/// The accelerator a guest runs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Tcg,
    Kvm,
}

/// A kernel and an initramfs, ready to boot.
pub struct Guest {
    arch: Arch,
    kernel: kernel::Kernel,
    /// None: a guest that boots from its disk alone.
    initramfs: Option<PathBuf>,
    /// A disk (`/dev/vda`) holding the root file system, whose
    /// `/sbin/klp-rs-init` runs the suite (see [`Guest::on_disk`]).
    disk: Option<PathBuf>,
    emulator: guest_tools::Emulator,
    /// Boot with QEMU's `-icount shift=0,sleep=off`: the guest clock
    /// advances one nanosecond per instruction executed (one vCPU at a
    /// time), whatever the host does.
    exact_clock: bool,
    /// A debug kernel: the checks of `debug-checks.sh` after the suite.
    debug: bool,
}

/// A finished guest run.
pub struct Outcome {
    pub arch: Arch,
    pub suite: String,
    pub report: ktap::Report,
    pub elapsed: Duration,
    pub timed_out: bool,
    pub log: PathBuf,
    pub console_tail: Vec<String>,
}

/// The suite a second boot runs after `suite`, from the archive it printed.
fn follow_up(suite: &str) -> Option<&'static str> {
    match suite {
        "klp" => Some("klp-reboot"),
        _ => None,
    }
}

impl Outcome {
    /// Folds in the outcome of the boot that followed this one.
    pub(crate) fn then(&mut self, next: Outcome) {
        self.report.append(next.report);
        self.elapsed += next.elapsed;
        self.timed_out |= next.timed_out;
        self.suite = format!("{} + {}", self.suite, next.suite);
        self.log = next.log;
        self.console_tail = next.console_tail;
    }

    /// Prints the closing line; an error (exit code 1) unless all passed.
    pub fn check(&self) -> Result<()> {
        if !self.report.finished {
            let why = if self.timed_out {
                "was killed after the timeout"
            } else {
                "stopped early"
            };
            eprintln!(
                "{} guest {why}; last console lines (full log: {}):",
                self.arch,
                self.log.display()
            );
            for line in &self.console_tail {
                eprintln!("  | {line}");
            }
        }
        eprintln!(
            "{} {}: guest ran {:.1}s",
            self.arch,
            self.suite,
            self.elapsed.as_secs_f64()
        );
        println!("{}", self.report);
        if self.report.success() {
            Ok(())
        } else {
            // The failed points by name, so that a CI summary says which.
            let failed: Vec<String> = self
                .report
                .points
                .iter()
                .filter(|p| !p.ok && p.skip.is_none())
                .map(|p| format!("`{}`", p.name))
                .collect();
            let which = if failed.is_empty() {
                String::new()
            } else {
                format!(" (failed: {})", failed.join(", "))
            };
            Err(Failed(format!(
                "{} suite `{}`: {}{which}; log: {}",
                self.arch,
                self.suite,
                self.report,
                self.log.display()
            ))
            .into())
        }
    }
}

impl Guest {
    /// Sets up, builds the kernel and modules if needed, and writes the
    /// initramfs.
    pub fn prepare(cache: &Cache, arch: Arch) -> Result<Self> {
        Self::prepare_with(cache, arch, Vec::new())
    }

    /// [`Guest::prepare`], with `files` added to the initramfs.
    pub fn prepare_with(cache: &Cache, arch: Arch, files: Vec<initramfs::File>) -> Result<Self> {
        let tc = setup::ensure(cache, false)?;
        let kernel = kernel::build(cache, &tc, arch)?;
        Self::prepare_on(cache, &tc, kernel, files)
    }

    /// [`Guest::prepare`] on the debug kernel of `arch`, which checks after
    /// every suite that kmemleak finds no leak and that the kernel's bug
    /// detectors reported nothing.
    pub fn prepare_debug(cache: &Cache, arch: Arch) -> Result<Self> {
        let tc = setup::ensure(cache, false)?;
        let kernel = debug_kernel::build(cache, &tc, arch)?;
        Ok(Self {
            debug: true,
            ..Self::prepare_on(cache, &tc, kernel, Vec::new())?
        })
    }

    /// A guest of `kernel` with every module of `kmod/` built for it, and
    /// `files`.
    fn prepare_on(
        cache: &Cache,
        tc: &setup::Toolchain,
        kernel: kernel::Kernel,
        files: Vec<initramfs::File>,
    ) -> Result<Self> {
        let arch = kernel.arch;
        let kos = modules::build(cache, tc, &kernel, modules::Lint::No)?;
        let mut extra = selftests::files(cache, tc, &kernel, &kos)?;
        extra.extend(samples::files(cache, tc, &kernel)?);
        extra.extend(files);
        extra.push(klp_tool::build(cache, arch)?);
        extra.push(seed::installed_file(&kernel, &kos)?);
        extra.push(modules::unconverted(cache, tc, &kernel)?);
        let initramfs = kernel.checkout_dir().join("klp-rs-initramfs.cpio");
        let tools = guest_tools::ensure(cache, arch)?;
        initramfs::build(&tools.busybox, &tools.bash, &kos, &extra, &initramfs)?;
        Ok(Self {
            arch,
            kernel,
            initramfs: Some(initramfs),
            disk: None,
            emulator: guest_tools::emulator(cache, arch)?,
            exact_clock: false,
            debug: false,
        })
    }

    /// A guest of `kernel` (one built without a fix, say) whose initramfs
    /// holds only `kos`, the `klp` tool and `extra`.
    pub fn with_modules(
        cache: &Cache,
        kernel: kernel::Kernel,
        kos: &[PathBuf],
        mut extra: Vec<initramfs::File>,
    ) -> Result<Self> {
        let arch = kernel.arch;
        extra.push(klp_tool::build(cache, arch)?);
        std::fs::create_dir_all(kernel.checkout_dir())?;
        let initramfs = kernel.checkout_dir().join("klp-rs-initramfs.cpio");
        let tools = guest_tools::ensure(cache, arch)?;
        initramfs::build(&tools.busybox, &tools.bash, kos, &extra, &initramfs)?;
        Ok(Self {
            arch,
            kernel,
            initramfs: Some(initramfs),
            disk: None,
            emulator: guest_tools::emulator(cache, arch)?,
            exact_clock: false,
            debug: false,
        })
    }

    /// A guest of `kernel` whose root file system is the ext4 image `disk`
    /// (a system of its own, such as [`crate::debian_root`]'s), booted with
    /// `initramfs` if given, else straight from the disk (the kernel has
    /// the drivers built in). Its `/sbin/klp-rs-init` runs the suite, as
    /// `qemu/guest/debian-init` does; what the guest writes stays on `disk`.
    pub fn on_disk(
        cache: &Cache,
        kernel: kernel::Kernel,
        disk: PathBuf,
        initramfs: Option<PathBuf>,
    ) -> Result<Self> {
        Ok(Self {
            arch: kernel.arch,
            emulator: guest_tools::emulator(cache, kernel.arch)?,
            kernel,
            initramfs,
            disk: Some(disk),
            exact_clock: false,
            debug: false,
        })
    }

    /// This guest with an instruction-counting clock (see `exact_clock`),
    /// if its QEMU counts instructions (a boot of no machine with
    /// `-icount`, told to quit at once, exits cleanly); else the guest as
    /// it was, and why.
    pub fn with_exact_clock(mut self) -> (Self, Option<String>) {
        let probe = Command::new(&self.emulator.program)
            .args(["-machine", "none", "-nodefaults", "-display", "none"])
            .args([
                "-accel",
                "tcg,thread=single",
                "-icount",
                "shift=0,sleep=off",
            ])
            .args(["-monitor", "stdio"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                if let Some(mut stdin) = child.stdin.take() {
                    stdin.write_all(b"quit\n")?;
                }
                child.wait_with_output()
            });
        let why = match probe {
            Ok(out) if out.status.success() => {
                self.exact_clock = true;
                None
            }
            Ok(out) => Some(format!(
                "`{} -icount shift=0,sleep=off` fails ({}): {}",
                self.emulator.program.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )),
            Err(e) => Some(format!(
                "cannot run `{}`: {e}",
                self.emulator.program.display()
            )),
        };
        (self, why)
    }

    /// TCG, or KVM when asked for and a probe boot under KVM completes.
    pub fn accel(&self, cache: &Cache, want_kvm: bool) -> Result<Accel> {
        if !want_kvm {
            return Ok(Accel::Tcg);
        }
        if let Err(e) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
        {
            eprintln!("==> KVM unavailable (/dev/kvm: {e}); using software emulation");
            return Ok(Accel::Tcg);
        }
        eprintln!("==> probing KVM with a boot that runs no scenario");
        let probe = self.boot(cache, "none", Accel::Kvm, KVM_PROBE_SECS, false)?;
        if probe.report.finished {
            Ok(Accel::Kvm)
        } else {
            eprintln!(
                "==> the KVM probe boot did not finish (log: {}); using software emulation",
                probe.log.display()
            );
            Ok(Accel::Tcg)
        }
    }

    /// Boots the guest with `suite`, echoing its scenario output.
    pub fn run_suite(
        &self,
        cache: &Cache,
        suite: &str,
        accel: Accel,
        timeout: u64,
    ) -> Result<Outcome> {
        eprintln!("==> booting {} ({accel:?}) for suite `{suite}`", self.arch);
        let mut outcome = self.boot(cache, suite, accel, timeout, true)?;
        if let Some(next) = follow_up(suite) {
            if outcome.report.success() {
                let second = self.reboot(cache, &outcome, next, accel, timeout)?;
                outcome.then(second);
            }
        }
        Ok(outcome)
    }

    /// Boots again, from this initramfs with the archive the guest printed
    /// appended (the kernel unpacks concatenated archives), running `suite`.
    fn reboot(
        &self,
        cache: &Cache,
        first: &Outcome,
        suite: &str,
        accel: Accel,
        timeout: u64,
    ) -> Result<Outcome> {
        let console = std::fs::read_to_string(&first.log)?;
        let archive = ktap::printed_archive(&console)
            .with_context(|| format!("reading the boot archive in `{}`", first.log.display()))?;
        let first_initramfs = self
            .initramfs
            .as_ref()
            .context("a guest that booted without an initramfs cannot reboot with an archive")?;
        let mut initramfs = std::fs::read(first_initramfs)?;
        initramfs.extend_from_slice(&archive);
        let path = first_initramfs.with_extension("reboot.cpio");
        std::fs::write(&path, initramfs)?;
        eprintln!(
            "==> rebooting {} from the initramfs plus the guest's {}-byte archive, for suite `{suite}`",
            self.arch,
            archive.len()
        );
        let guest = Guest {
            arch: self.arch,
            kernel: self.kernel.clone(),
            initramfs: Some(path),
            disk: self.disk.clone(),
            emulator: self.emulator.clone(),
            exact_clock: self.exact_clock,
            debug: self.debug,
        };
        guest.boot(cache, suite, accel, timeout, true)
    }

    /// Boots the guest with the suite `shell` (an interactive shell) on a
    /// serial console that is this terminal, QEMU's monitor multiplexed on
    /// it: Ctrl-C goes to the guest, Ctrl-A X stops QEMU. Returns when the
    /// guest has powered off.
    pub fn shell(&self, accel: Accel) -> Result<()> {
        eprintln!(
            "==> booting {} ({accel:?}) with a shell on this terminal; `exit` powers the guest off, Ctrl-A X stops QEMU",
            self.arch
        );
        let mut cmd = self.command(SHELL, accel, "mon:stdio");
        let status = cmd.status().with_context(|| self.cannot_start())?;
        if !status.success() {
            bail!("`{}` failed ({status})", run::display(&cmd));
        }
        Ok(())
    }

    fn cannot_start(&self) -> String {
        format!(
            "cannot start `{}`; run `cargo xtask setup`",
            self.emulator.program.display()
        )
    }

    /// The QEMU command line that boots the guest with `suite`, its serial
    /// console on the character device `serial`.
    fn command(&self, suite: &str, accel: Accel, serial: &str) -> Command {
        let emulator = &self.emulator;
        let mut cmd = Command::new(&emulator.program);
        for firmware in &emulator.firmware {
            cmd.arg("-L").arg(firmware);
        }
        cmd.args([
            "-nodefaults",
            "-no-user-config",
            "-display",
            "none",
            "-serial",
            serial,
            "-no-reboot",
        ])
        .args(self.arch.qemu_machine_args())
        // A whole system (dpkg, apt, update-initramfs) wants more memory
        // than a busybox guest.
        .args([
            "-m",
            &self
                .disk
                .as_ref()
                .map_or(self.arch.guest_memory_mib(), |_| DISK_GUEST_MIB)
                .to_string(),
        ])
        // Two vCPUs, each a host thread under TCG: patched code runs on
        // one CPU while the other switches tasks over.
        .args(["-smp", &GUEST_CPUS.to_string()])
        .args([
            "-accel",
            match accel {
                Accel::Kvm => "kvm",
                // QEMU counts instructions with one vCPU running at a time.
                Accel::Tcg if self.exact_clock => "tcg,thread=single",
                Accel::Tcg if !self.arch.multi_threaded_tcg() => "tcg,thread=single",
                Accel::Tcg => "tcg,thread=multi",
            },
        ])
        .args(if self.exact_clock {
            &["-icount", "shift=0,sleep=off"][..]
        } else {
            &[]
        })
        .arg("-kernel")
        .arg(&self.kernel.image);
        if let Some(initramfs) = &self.initramfs {
            cmd.arg("-initrd").arg(initramfs);
        }
        let mut append = format!(
            "console={} loglevel=3 panic=-1 klp.suite={suite}",
            self.arch.console()
        );
        if self.debug {
            append.push_str(&format!(" klp.debug=1 {}", debug_kernel::CMDLINE));
        }
        if let Some(disk) = &self.disk {
            cmd.arg("-drive")
                .arg(format!("file={},format=raw,if=virtio", disk.display()));
            // The suite also as init's argument (after `--`): a patch may
            // change `/proc/cmdline`, and the initramfs loads it first.
            append.push_str(&format!(
                " root=/dev/vda ro init=/sbin/klp-rs-init -- {suite}"
            ));
        }
        cmd.arg("-append").arg(append);
        cmd
    }

    fn boot(
        &self,
        cache: &Cache,
        suite: &str,
        accel: Accel,
        timeout: u64,
        echo: bool,
    ) -> Result<Outcome> {
        let log = cache
            .logs()
            .join(format!("guest-{}-{suite}.log", self.arch));
        std::fs::create_dir_all(cache.logs())?;
        let mut log_file = File::create(&log)?;
        let mut cmd = self.command(suite, accel, "stdio");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        writeln!(log_file, "$ {}", run::display(&cmd))?;
        let start = Instant::now();
        let mut child = cmd.spawn().with_context(|| self.cannot_start())?;
        let (tx, rx) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line)
                        .trim_end_matches('\r')
                        .to_string();
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);

        let deadline = start + Duration::from_secs(timeout);
        let mut lines = Vec::new();
        let mut in_scenario = false;
        let mut in_archive = false;
        let mut timed_out = false;
        let mut done_at = None;
        loop {
            let now = Instant::now();
            // After the scenario ends, QEMU gets a few seconds to power off.
            let until = done_at
                .map_or(deadline, |d: Instant| d + Duration::from_secs(10))
                .min(deadline);
            if now >= until {
                timed_out = done_at.is_none();
                let _ = child.kill();
                break;
            }
            match rx.recv_timeout(until - now) {
                Ok(line) => {
                    writeln!(log_file, "{line}")?;
                    // On ppc64le, a kernel message may not have ended its line.
                    if line.contains(ktap::START) {
                        in_scenario = true;
                    } else if line == ktap::DONE {
                        in_scenario = false;
                        done_at = Some(Instant::now());
                    } else if line == ktap::ARCHIVE_BEGIN {
                        in_archive = true;
                    } else if line == ktap::ARCHIVE_END {
                        in_archive = false;
                    } else if in_scenario && echo && !in_archive {
                        println!("{line}");
                    }
                    lines.push(line);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let _ = child.wait();
        let elapsed = start.elapsed();
        let report = ktap::Report::parse(lines.iter().map(String::as_str));
        let console_tail = lines[lines.len().saturating_sub(30)..].to_vec();
        Ok(Outcome {
            arch: self.arch,
            suite: suite.to_string(),
            report,
            elapsed,
            timed_out,
            log,
            console_tail,
        })
    }
}

/// One suite's result on one arch, for the README's arch matrix.
pub struct MatrixCell {
    pub arch: Arch,
    pub suite: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub seconds: f64,
}

impl MatrixCell {
    /// The cell of `outcome`.
    pub fn of(outcome: &Outcome) -> Self {
        Self {
            arch: outcome.arch,
            suite: outcome.suite.clone(),
            passed: outcome.report.passed(),
            failed: outcome.report.failed(),
            skipped: outcome.report.skipped(),
            seconds: outcome.elapsed.as_secs_f64(),
        }
    }
}

/// A markdown table, one row per suite and one column per arch, each cell
/// `passed/failed[/skipped]` and the guest's time.
pub fn render_matrix(cells: &[MatrixCell]) -> String {
    let mut arches: Vec<Arch> = Vec::new();
    let mut suites: Vec<&str> = Vec::new();
    for c in cells {
        if !arches.contains(&c.arch) {
            arches.push(c.arch);
        }
        if !suites.contains(&c.suite.as_str()) {
            suites.push(&c.suite);
        }
    }
    let mut out = String::from("| suite |");
    for a in &arches {
        out.push_str(&format!(" {a} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(arches.len()));
    out.push('\n');
    for suite in suites {
        out.push_str(&format!("| `{suite}` |"));
        for &arch in &arches {
            let cell = cells.iter().find(|c| c.arch == arch && c.suite == suite);
            match cell {
                Some(c) => {
                    let verdict = if c.failed == 0 { "passed" } else { "FAILED" };
                    let skipped = if c.skipped > 0 {
                        format!(", {} skipped", c.skipped)
                    } else {
                        String::new()
                    };
                    out.push_str(&format!(
                        " {verdict} {}/{}{skipped}, {:.1} s |",
                        c.passed,
                        c.passed + c.failed,
                        c.seconds
                    ));
                }
                None => out.push_str(" not run |"),
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_has_a_row_per_suite_and_a_column_per_arch() {
        let cell = |arch, suite: &str, passed, failed, skipped| MatrixCell {
            arch,
            suite: suite.into(),
            passed,
            failed,
            skipped,
            seconds: 1.25,
        };
        let table = render_matrix(&[
            cell(Arch::X86_64, "smoke", 7, 0, 0),
            cell(Arch::X86_64, "selftests", 8, 0, 0),
            cell(Arch::Aarch64, "smoke", 6, 1, 0),
            cell(Arch::Aarch64, "selftests", 7, 0, 1),
        ]);
        assert_eq!(
            table,
            "| suite | x86_64 | aarch64 |\n|---|---|---|\n\
             | `smoke` | passed 7/7, 1.2 s | FAILED 6/7, 1.2 s |\n\
             | `selftests` | passed 8/8, 1.2 s | passed 7/7, 1 skipped, 1.2 s |\n"
        );
    }
}
