//! `cargo xtask generate FIX.patch...`: a live patch module generated from
//! a source fix (the `klp-gen` crate), built against the arch's kernel by
//! Kbuild, post-linked and signed as every module, with its review report
//! beside the `.ko`.

use crate::{arch::Arches, cache::Cache, corpus, kernel, modules, qemu, repo_root, setup};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// `cargo xtask generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateCmd {
    /// The fix: unified diffs against the kernel tree (`patch -p1`),
    /// applied in order; several make one cumulative patch.
    #[arg(required = true, value_name = "FIX.patch")]
    patches: Vec<PathBuf>,
    /// The arch whose cached kernel to build against (the guests' kernel
    /// with one module, `kobject_example`, as the corpus uses), or `all`.
    #[arg(long, default_value = "x86_64")]
    arch: Arches,
    /// The module's name (default: `klp_` and the first patch's file stem).
    #[arg(long)]
    name: Option<String>,
    /// The patch's version (cumulative patches rise).
    #[arg(long, default_value_t = 1)]
    version: u32,
    /// A CVE the patch fixes (repeatable).
    #[arg(long = "cve", value_name = "ID")]
    cves: Vec<String>,
    /// A bug the patch fixes (repeatable).
    #[arg(long = "bug", value_name = "ID")]
    bugs: Vec<String>,
    /// Do not atomically replace earlier patches.
    #[arg(long)]
    no_replace: bool,
    /// The module's description (default: the first patch's first line).
    #[arg(long)]
    description: Option<String>,
    /// A kernel build of your own (its `O=` directory or tree) instead of
    /// the cached one; its arch is read from its `.config`.
    #[arg(long, value_name = "DIR", conflicts_with = "arch")]
    kdir: Option<PathBuf>,
    /// Where to put the `.ko` and its report (default: the current directory).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Rust parts beside the generated code: callbacks (a type implementing
    /// `livepatch::Callbacks`), `State`s (`static NAME: State<T>`), and
    /// `#[no_mangle]` functions (`livepatch::c_callable!`) the fixed C code
    /// calls, e.g. to keep new data in a `Shadow<T>`. Included into the
    /// module's Rust part as it is (no inner `//!` comments).
    #[arg(long, value_name = "FILE.rs")]
    rust: Option<PathBuf>,
    /// Then prove it in a guest of the arch, with kpatch's integration-test
    /// semantics: SCRIPT fails before the patch loads, passes while it is
    /// loaded, fails again after it is unloaded; no WARNING, BUG or Oops.
    #[arg(long, value_name = "SCRIPT", conflicts_with = "kdir")]
    test: Option<PathBuf>,
}

impl GenerateCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernels = match &self.kdir {
            Some(dir) => vec![kernel::Kernel::of_tree(dir)?],
            None => {
                // The cached kernel with the corpus's module (`kobject_example`).
                self.arch
                    .0
                    .iter()
                    .copied()
                    .map(|a| corpus::kernel(cache, &tc, a))
                    .collect::<Result<_>>()?
            }
        };
        let name = match &self.name {
            Some(n) => n.clone(),
            None => default_name(&self.patches[0])?,
        };
        let out = match &self.out {
            Some(o) => o.clone(),
            None => std::env::current_dir()?,
        };
        let meta = klp_gen::module::Metadata {
            name: name.clone(),
            description: match &self.description {
                Some(d) => d.clone(),
                None => default_description(&self.patches[0])?,
            },
            version: self.version,
            replace: !self.no_replace,
            cves: self.cves.clone(),
            bugs: self.bugs.clone(),
        };
        let many = kernels.len() > 1;
        for kernel in &kernels {
            let dest = if many {
                out.join(kernel.arch.to_string())
            } else {
                out.clone()
            };
            let rust = match &self.rust {
                Some(r) => Some(
                    std::fs::canonicalize(r)
                        .with_context(|| format!("cannot read the Rust parts `{}`", r.display()))?,
                ),
                None => None,
            };
            let input = Input {
                patches: &self.patches,
                rust: rust.as_deref(),
                source: None,
                meta: &meta,
            };
            let out = generate(cache, &tc, kernel, &input, &dest)?;
            println!("{}", out.ko.display());
            if let Some(script) = &self.test {
                let case = corpus::Case {
                    name: name.clone(),
                    module: name.clone(),
                    patch: self.patches[0].clone(),
                    test: script.clone(),
                    rust: rust.clone(),
                };
                let built = corpus::Built {
                    case,
                    ko: out.ko,
                    target: out.modules.into_iter().next(),
                };
                corpus::run_guest(
                    cache,
                    kernel.clone(),
                    &[built],
                    qemu::Accel::Tcg,
                    corpus::Loader::Klp,
                )?
                .check()?;
            }
        }
        Ok(())
    }
}

/// What to generate a patch from.
pub struct Input<'a> {
    /// The fix, applied in order.
    pub patches: &'a [PathBuf],
    /// Rust parts beside the generated code (`--rust`).
    pub rust: Option<&'a Path>,
    /// The sources the kernel was built from, if not the tree it names
    /// (a kernel built without a fix).
    pub source: Option<&'a Path>,
    pub meta: &'a klp_gen::module::Metadata,
}

/// Generates, builds and signs the module of `input` for `kernel`; copies
/// the `.ko` and its report into `dest`.
pub fn generate(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    input: &Input<'_>,
    dest: &Path,
) -> Result<Output> {
    let Input {
        patches,
        rust,
        source,
        meta,
    } = *input;
    let mut build = klp_gen::Build::open(&kernel.dir)?;
    if let Some(tree) = source {
        build = build.with_source(tree);
    }
    // A kernel built in place is also the tree the generator copies: its
    // work goes into the cache instead.
    let in_place = !kernel.dir.join("source").exists();
    let base = if in_place {
        cache.root().join("generate").join(format!(
            "{:016x}",
            crate::kernel::fnv1a(kernel.checkout_dir().as_os_str().as_encoded_bytes())
        ))
    } else {
        kernel.checkout_dir()
    }
    .join(format!("generate-{}", meta.name));
    let patches: Vec<PathBuf> = patches
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .with_context(|| format!("cannot read the patch `{}`", p.display()))
        })
        .collect::<Result<_>>()?;
    eprintln!(
        "==> generating `{}` for {} from {}",
        meta.name,
        kernel.arch,
        patches
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let start = std::time::Instant::now();
    let generated = klp_gen::generate(
        &build,
        &klp_gen::Request {
            patches: patches.clone(),
            meta: meta.clone(),
            livepatch: repo_root().join("kmod/livepatch"),
            rust: rust.map(Path::to_path_buf),
            work: base.join("work"),
            out: base.join("module"),
        },
    )?;
    for w in &generated.warnings {
        eprintln!("warning: {w}");
    }
    eprintln!(
        "    extracted in {:.1}s; review: {}",
        start.elapsed().as_secs_f64(),
        generated
            .dir
            .join(format!("{}.report.txt", meta.name))
            .display()
    );
    // The extracted parts are prebuilt objects: Kbuild links what it
    // finds in its output directory.
    let what = format!("generate-{}", meta.name);
    let mo = modules::output_dir(kernel, modules::Lint::No, &what);
    if mo.exists() {
        std::fs::remove_dir_all(&mo)?;
    }
    std::fs::create_dir_all(&mo)?;
    for part in &generated.parts {
        let file = part.file_name().context("a part has a name")?;
        std::fs::copy(part, mo.join(file))?;
    }
    let kos = modules::build_in(
        cache,
        tc,
        kernel,
        modules::Lint::No,
        &generated.dir,
        &what,
        None,
    )?;
    let Some(ko) = kos
        .into_iter()
        .find(|k| k.file_stem().is_some_and(|s| *s == *meta.name))
    else {
        bail!("the generated module directory built no `{}.ko`", meta.name);
    };
    std::fs::create_dir_all(dest)?;
    let target = dest.join(format!("{}.ko", meta.name));
    std::fs::copy(&ko, &target)?;
    std::fs::write(
        dest.join(format!("{}.report.txt", meta.name)),
        &generated.report,
    )?;
    Ok(Output {
        ko: target,
        modules: generated.modules,
    })
}

/// A generated patch: its `.ko`, and the modules it patches (name, `.ko`).
pub struct Output {
    pub ko: PathBuf,
    pub modules: Vec<(String, PathBuf)>,
}

/// `klp_` and the patch's file stem, as a module name.
fn default_name(patch: &Path) -> Result<String> {
    let stem = patch
        .file_stem()
        .context("the patch has a file name")?
        .to_string_lossy();
    Ok(format!(
        "klp_{}",
        stem.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    ))
}

/// The patch's first non-empty line (a commit's subject), or its name.
fn default_description(patch: &Path) -> Result<String> {
    let text = std::fs::read_to_string(patch)
        .with_context(|| format!("cannot read the patch `{}`", patch.display()))?;
    let line = text
        .lines()
        .map(|l| l.strip_prefix("Subject: ").unwrap_or(l).trim())
        .find(|l| !l.is_empty() && !l.starts_with("From ") && !l.starts_with("--- "))
        .unwrap_or_default();
    Ok(if line.is_empty() || line.starts_with("diff ") {
        format!("live patch generated from {}", patch.display())
    } else {
        line.to_string()
    })
}
