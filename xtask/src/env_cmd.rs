//! `cargo xtask env [--arch A | --kdir K]`: the environment in which a
//! plain `make -C "$KDIR" M=DIR` builds patch modules as `cargo xtask
//! build` does, as `export` lines for `eval`: the pinned Rust toolchain and
//! bindgen on `PATH`, libclang, the kernel build and its `ARCH` (and
//! `CROSS_COMPILE`, `KRUSTFLAGS` where the arch needs them), and the
//! post-link step, built.

use crate::{arch::Arch, cache::Cache, kernel, modules, setup};
use anyhow::Result;
use std::path::PathBuf;

/// `cargo xtask env`.
#[derive(clap::Args, Debug)]
pub struct EnvCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// A kernel build of your own (its `O=` directory or tree) instead of
    /// the cached one; its arch is read from its `.config`.
    #[arg(long, value_name = "DIR", conflicts_with = "arch")]
    kdir: Option<PathBuf>,
}

impl EnvCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernel = match &self.kdir {
            Some(dir) => kernel::Kernel::of_tree(dir)?,
            None => kernel::build(cache, &tc, self.arch)?,
        };
        let convert = modules::convert_tool(cache)?;
        let arch = kernel.arch;
        let mut vars = vec![
            ("KDIR", quote(&kernel.dir.to_string_lossy())),
            ("PATH", {
                let dirs: Vec<String> = tc
                    .path_dirs()
                    .iter()
                    .map(|d| d.to_string_lossy().into_owned())
                    .collect();
                format!("{}:\"$PATH\"", quote(&dirs.join(":")))
            }),
            ("LIBCLANG_PATH", quote(&tc.libclang_dir().to_string_lossy())),
            ("ARCH", quote(arch.kernel_arch())),
        ];
        if let Some(prefix) = arch.cross_compile() {
            vars.push(("CROSS_COMPILE", quote(prefix)));
        }
        // The Makefile sets `RUSTFLAGS_MODULE` itself; `KRUSTFLAGS` it
        // takes from the environment.
        if let Some(flags) = arch.module_rustflags() {
            vars.push(("KRUSTFLAGS", quote(flags)));
        }
        vars.push(("KLP_RS_KERNEL_RELEASED", quote(&tc.source_released)));
        vars.push(("KLP_RS_CONVERT", quote(&convert.to_string_lossy())));
        println!(
            "# klp-rs, {arch} patch modules: make -C \"$KDIR\" M=DIR, then \
             \"$KLP_RS_CONVERT\" --kernel \"$KDIR\" DIR/*.ko, then sign them"
        );
        for (name, value) in vars {
            println!("export {name}={value}");
        }
        Ok(())
    }
}

/// `s` as one word of a POSIX shell, in single quotes.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_the_shell() {
        assert_eq!(quote("/a b"), "'/a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
