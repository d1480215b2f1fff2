//! `cargo xtask doc [--arch A] [--open]`: the rustdoc of `kmod/livepatch`,
//! the crate patch authors use, rendered by the pinned toolchain's `rustdoc`
//! with the very flags Kbuild compiled a patch module with (its `.cmd` file),
//! so that the crate's cfgs, bindings and `kernel` crate are this build's.

use crate::{
    arch::Arch,
    cache::Cache,
    kernel,
    modules::{self, Lint},
    repo_root, run, setup,
};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// `cargo xtask doc`.
#[derive(clap::Args, Debug)]
pub struct DocCmd {
    /// Guest architecture (the kernel build whose flags and bindings the
    /// docs are rendered with).
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// Also open the `livepatch` module's page with `xdg-open`, if there is
    /// one.
    #[arg(long)]
    open: bool,
}

/// The patch module whose compile command the docs are rendered with.
const MODULE: &str = "kmod/samples/livepatch_sample";
/// The generated crate root: a patch module reduced to the lines that
/// include the crate.
const CRATE: &str = "klp_rs";

impl DocCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernel = kernel::build(cache, &tc, self.arch)?;
        let built = modules::output_dir(&kernel, Lint::No, "modules");
        let object = format!("{MODULE}.o");
        let bindings = built
            .join(MODULE)
            .with_file_name("klp_bindings_generated.rs");
        if !bindings.is_file() || kernel::saved_command(&built, &object).is_err() {
            modules::build(cache, &tc, &kernel, Lint::No)?;
        }
        let command = kernel::saved_command(&built, &object)?;
        let out = kernel.checkout_dir().join("klp-rs-doc");
        let root = out.join(format!("{CRATE}.rs"));
        let page = out.join(CRATE);
        if page.exists() {
            // Pages of items that are gone would stay otherwise.
            std::fs::remove_dir_all(&page)?;
        }
        std::fs::create_dir_all(&out)?;
        let release = kernel.release()?;
        std::fs::write(&root, crate_root(self.arch, &release))?;
        let doc = rustdoc_args(&command, &root, &out)
            .with_context(|| format!("reading the command Kbuild compiled `{object}` with"))?;
        let mut rustdoc = tc.command(tc.rust_tool("rustdoc"));
        rustdoc
            .current_dir(&kernel.dir)
            .envs(doc.envs)
            // What Kbuild exports to every rustc it runs: the kernel's
            // `Makefile` the first, `kmod/livepatch/livepatch.mk` the next
            // two, and `cargo xtask build` the last.
            .env("RUSTC_BOOTSTRAP", "1")
            .env("KLP_RS_BINDINGS", &bindings)
            .env("KLP_RS_KERNEL_RELEASE", &release)
            .env("KLP_RS_KERNEL_RELEASED", &tc.source_released)
            .args(doc.args);
        run::logged(
            &format!(
                "rendering the docs of kmod/livepatch for {} (warnings are errors)",
                self.arch
            ),
            &mut rustdoc,
            &cache.logs().join(format!("doc-{}.log", self.arch)),
        )?;
        srctree_links(&page, &tc.source)?;
        let index = page.join("index.html");
        let module = page.join("livepatch/index.html");
        for html in [&index, &module] {
            if !html.is_file() {
                bail!("rustdoc succeeded but wrote no `{}`", html.display());
            }
        }
        println!("{}", index.display());
        println!("{}", module.display());
        if self.open {
            open(&module);
        }
        Ok(())
    }
}

/// The crate root rustdoc reads: the two lines every patch module starts
/// with, the path made absolute.
fn crate_root(arch: Arch, release: &str) -> String {
    let path = repo_root().join("kmod/livepatch/mod.rs");
    format!(
        "//! A patch module's crate root, reduced to the two lines that include\n\
         //! [`livepatch`], the crate patch authors use (rendered by `cargo xtask\n\
         //! doc` with the flags of `{MODULE}.rs` for {arch}, kernel `{release}`).\n\
         \n\
         #[path = {:?}]\n\
         pub mod livepatch;\n",
        path.display().to_string()
    )
}

/// Points the `srctree/` links of the HTML pages under `dir` (the kernel
/// docs' name of a file of the kernel tree) at the kernel source `source`,
/// as the kernel's `make rustdoc` does; a link to a file the tree lacks is
/// an error.
fn srctree_links(dir: &Path, source: &Path) -> Result<()> {
    const LINK: &str = "href=\"srctree/";
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            srctree_links(&path, source)?;
            continue;
        }
        let html = match path.extension() {
            Some(e) if e == "html" => std::fs::read_to_string(&path)?,
            _ => continue,
        };
        if !html.contains(LINK) {
            continue;
        }
        for link in html.split(LINK).skip(1) {
            let file = link.split('"').next().unwrap_or_default();
            if !source.join(file).is_file() {
                bail!(
                    "`{}` links to `srctree/{file}`, which the kernel source `{}` lacks",
                    path.display(),
                    source.display()
                );
            }
        }
        let to = format!("href=\"{}/", source.display());
        std::fs::write(&path, html.replace(LINK, &to))?;
    }
    Ok(())
}

/// Opens `html` in a browser, or says to.
fn open(html: &Path) {
    match std::process::Command::new("xdg-open").arg(html).status() {
        Ok(status) if status.success() => {}
        Ok(status) => eprintln!("`xdg-open` failed ({status}): open the page above in a browser"),
        Err(_) => eprintln!("no `xdg-open` here: open the page above in a browser"),
    }
}

/// A `rustdoc` invocation: environment and arguments.
#[derive(Debug, PartialEq, Eq)]
struct Rustdoc {
    envs: Vec<(String, String)>,
    args: Vec<String>,
}

/// rustc options whose value is the next word when not joined with `=`.
const DROPPED: &[&str] = &[
    // Outputs: rustdoc writes HTML into `-o`.
    "--emit",
    "--out-dir",
    "-o",
    // Paths as the object records them; `rustdoc` has no `--remap-path-scope`.
    "--remap-path-prefix",
    "--remap-path-scope",
];

/// `-C` options that shape only the machine code: no cfg depends on them
/// and no crate metadata records them (unlike `-Cpanic`, `-Ctarget-feature`
/// or `-Crelocation-model`, which are kept).
const CODEGEN_ONLY_C: &[&str] = &[
    "code-model",
    "codegen-units",
    "debuginfo",
    "embed-bitcode",
    "force-frame-pointers",
    "force-unwind-tables",
    "jump-tables",
    "lto",
    "no-redzone",
    "opt-level",
    "symbol-mangling-version",
];

/// The same for `-Z` (dependency info included).
const CODEGEN_ONLY_Z: &[&str] = &[
    "binary-dep-depinfo",
    "cf-protection",
    "dwarf-version",
    "function-return",
    "function-sections",
    "llvm-module-flag",
    "patchable-function-entry",
    "tune-cpu",
];

/// Where the docs of the crates `kmod/livepatch` uses live, for links
/// (`kernel` and `pin_init`: mainline's, the nearest published).
const HTML_ROOTS: &[&str] = &[
    "kernel=https://rust.docs.kernel.org/",
    "pin_init=https://rust.docs.kernel.org/",
];

/// The `rustdoc` run that documents the crate root `root` into `out` with
/// the flags of `command`, a Kbuild `rustc` command line of a patch module
/// (`VAR=value ... rustc FLAGS... SOURCE.rs [; post-processing]`): its
/// variables and every flag rustdoc reads are kept (cfgs, `--extern`, `-L`,
/// `--edition`, `--target`, `-Z`, lints); its outputs, source, path
/// remapping and codegen-only options are dropped. The crate's macros are
/// `pub(crate)`, its API to the patch crate that includes it, so private
/// items are documented; warnings are errors.
fn rustdoc_args(command: &str, root: &Path, out: &Path) -> Result<Rustdoc> {
    let mut words = shell_words(command)?.into_iter().peekable();
    let mut envs = Vec::new();
    while let Some(word) = words.next_if(|w| is_assignment(w)) {
        let (name, value) = word.split_once('=').unwrap_or_default();
        envs.push((name.to_string(), value.to_string()));
    }
    match words.next() {
        Some(program) if Path::new(&program).ends_with("rustc") => {}
        other => bail!(
            "not a rustc command: it runs `{}`",
            other.unwrap_or_default()
        ),
    }
    let mut words: Vec<String> = words.collect();
    match words.pop() {
        Some(source) if source.ends_with(".rs") => {}
        other => bail!(
            "the command does not end with its `.rs` source but with `{}`",
            other.unwrap_or_default()
        ),
    }
    let mut args = Vec::new();
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if DROPPED.contains(&word.as_str()) {
            words.next();
            continue;
        }
        if DROPPED.iter().any(|o| word.starts_with(&format!("{o}="))) {
            continue;
        }
        let word = if word == "-C" || word == "-Z" {
            word + &words.next().unwrap_or_default()
        } else {
            word
        };
        if codegen_only(&word) {
            continue;
        }
        args.push(word);
    }
    args.extend(["--crate-name", CRATE, "--document-private-items"].map(String::from));
    // The links from the crate's docs to its macros.
    args.push("-Arustdoc::private_intra_doc_links".into());
    args.push("-Dwarnings".into());
    let core = format!("core=https://doc.rust-lang.org/{}/", setup::RUST_VERSION);
    for root in HTML_ROOTS.iter().copied().chain([core.as_str()]) {
        args.extend(["--extern-html-root-url".into(), root.to_string()]);
    }
    args.extend(["-o".into(), out.display().to_string()]);
    args.push(root.display().to_string());
    Ok(Rustdoc { envs, args })
}

/// Whether `word` is a `-C`/`-Z` option of [`CODEGEN_ONLY_C`] or
/// [`CODEGEN_ONLY_Z`] (rustc reads `_` in their names as `-`).
fn codegen_only(word: &str) -> bool {
    let (list, option) = if let Some(o) = word.strip_prefix("-C") {
        (CODEGEN_ONLY_C, o)
    } else if let Some(o) = word.strip_prefix("-Z") {
        (CODEGEN_ONLY_Z, o)
    } else {
        return false;
    };
    let name = option
        .split('=')
        .next()
        .unwrap_or_default()
        .replace('_', "-");
    list.contains(&name.as_str())
}

/// `NAME=value` with `NAME` a shell variable name.
fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The words of the shell command `text` up to its first unquoted `;`, as
/// `sh` splits them (Kbuild quotes with `'...'`). Expansions, pipes and
/// redirections are refused.
fn shell_words(text: &str) -> Result<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ';' => break,
            c if c.is_ascii_whitespace() => words.extend(word.take()),
            '\'' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => bail!("unterminated `'` in `{text}`"),
                    }
                }
            }
            '"' => {
                let word = word.get_or_insert_default();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => word.extend(['\\', c]),
                            None => bail!("unterminated `\"` in `{text}`"),
                        },
                        Some('$' | '`') => bail!("a shell expansion in `{text}`"),
                        Some(c) => word.push(c),
                        None => bail!("unterminated `\"` in `{text}`"),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_default().push(c),
                None => bail!("a trailing `\\` in `{text}`"),
            },
            '$' | '`' | '|' | '&' | '<' | '>' | '(' | ')' => {
                bail!("shell syntax `{c}` in `{text}`")
            }
            c => word.get_or_insert_default().push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::{rustdoc_args, shell_words, srctree_links};
    use crate::kernel::saved_command;
    use std::path::Path;

    /// The first line of `kmod/samples/.livepatch_sample.o.cmd` of an x86_64
    /// module build (`cargo xtask build`, checkout `/work/wt-doc`).
    const SAVED: &str = "\
        savedcmd_kmod/samples/livepatch_sample.o := \
        OBJTREE=/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5 \
        RUST_MODFILE=kmod/samples/livepatch_sample rustc --edition=2021 \
        -Zbinary_dep_depinfo=y -Astable_features -Aunused_features -Dnon_ascii_idents \
        -Dunsafe_op_in_unsafe_fn -Wmissing_docs -Wrust_2018_idioms -Wunreachable_pub \
        -Wclippy::all -Wclippy::as_ptr_cast_mut -Wclippy::as_underscore \
        -Wclippy::cast_lossless -Aclippy::collapsible_if -Aclippy::collapsible_match \
        -Wclippy::ignored_unit_patterns -Aclippy::incompatible_msrv -Wclippy::mut_mut \
        -Wclippy::needless_bitwise_bool -Aclippy::needless_lifetimes \
        -Wclippy::no_mangle_with_rust_abi -Wclippy::ptr_as_ptr \
        -Wclippy::ptr_cast_constness -Wclippy::ref_as_ptr \
        -Wclippy::undocumented_unsafe_blocks -Aclippy::uninlined_format_args \
        -Wclippy::unnecessary_safety_comment -Wclippy::unnecessary_safety_doc \
        -Aclippy::unwrap_or_default -Wrustdoc::missing_crate_level_docs \
        -Wrustdoc::unescaped_backticks -Cpanic=abort -Cembed-bitcode=n -Clto=n \
        -Cforce-unwind-tables=n -Ccodegen-units=1 -Csymbol-mangling-version=v0 \
        -Crelocation-model=static -Zfunction-sections=n -Wclippy::float_arithmetic \
        --target=/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/scripts/target.json \
        -Ctarget-feature=-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2 \
        -Zcf-protection=branch -Cjump-tables=n -Ctarget-cpu=x86-64 -Ztune-cpu=generic \
        -Cno-redzone=y -Ccode-model=kernel -Zfunction-return=thunk-extern \
        -Zpatchable-function-entry=16,16 -Copt-level=2 -Cdebug-assertions=n \
        -Coverflow-checks=y --remap-path-prefix=/work/wt-doc/= \
        --remap-path-scope=macro -Zdwarf-version=5 -Cdebuginfo=2  --cfg MODULE  \
        @/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/include/generated/rustc_cfg \
        -Zallow-features=arbitrary_self_types,asm_goto,generic_arg_infer,used_with_arg \
        -Zcrate-attr=no_std \
        -Zcrate-attr='feature(arbitrary_self_types,asm_goto,generic_arg_infer,used_with_arg)' \
        -Zunstable-options --extern pin_init --extern kernel --extern zerocopy \
        --extern zerocopy_derive --crate-type rlib -L \
        /root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/rust/ --sysroot=/dev/null \
        --out-dir kmod/samples/ --emit=dep-info=kmod/samples/.livepatch_sample.o.d \
        --emit=obj=kmod/samples/livepatch_sample.o \
        /work/wt-doc/kmod/samples/livepatch_sample.rs   ; \
        /root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/tools/objtool/objtool \
        --hacks=jump_label --hacks=noinstr --hacks=skylake --ibt --prefix=16 --orc \
        --retpoline --rethunk --static-call --uaccess  --link  --module \
        kmod/samples/livepatch_sample.o";

    #[test]
    fn a_kbuild_rustc_command_becomes_a_rustdoc_run_on_the_crate_root() {
        let dir = std::env::temp_dir().join(format!("klp-rs-doc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("kmod/samples")).unwrap();
        let cmd = format!("{SAVED}\n\nsource_kmod/samples/livepatch_sample.o := x.rs\n");
        std::fs::write(dir.join("kmod/samples/.livepatch_sample.o.cmd"), cmd).unwrap();
        let command = saved_command(&dir, "kmod/samples/livepatch_sample.o").unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let (root, out) = (Path::new("/doc/klp_rs.rs"), Path::new("/doc"));
        let doc = rustdoc_args(&command, root, out).unwrap();
        assert_eq!(
            doc.envs,
            [
                (
                    "OBJTREE".into(),
                    "/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5".into()
                ),
                (
                    "RUST_MODFILE".into(),
                    "kmod/samples/livepatch_sample".into()
                ),
            ]
        );
        let args = &doc.args;
        let has = |words: &[&str]| args.windows(words.len()).any(|w| w == words);
        // What the crate compiles to: edition, target, cfgs, crates, lints,
        // the unstable features, the kernel's `-C` options that set cfgs or
        // are recorded in crate metadata; quotes gone.
        for kept in [
            &["--edition=2021"][..],
            &["--target=/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/scripts/target.json"],
            &["--cfg", "MODULE"],
            &["@/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/include/generated/rustc_cfg"],
            &["--extern", "kernel"],
            &["-L", "/root/.cache/klp-rs/build/x86_64-382ff7a7995d4bd5/rust/"],
            &["--sysroot=/dev/null"],
            &["--crate-type", "rlib"],
            &["-Wmissing_docs"],
            &["-Wrustdoc::unescaped_backticks"],
            &["-Zcrate-attr=feature(arbitrary_self_types,asm_goto,generic_arg_infer,used_with_arg)"],
            &["-Zunstable-options"],
            &["-Cpanic=abort"],
            &["-Crelocation-model=static"],
            &["-Ctarget-feature=-sse,-sse2,-sse3,-ssse3,-sse4.1,-sse4.2,-avx,-avx2"],
            &["-Coverflow-checks=y"],
        ] {
            assert!(has(kept), "{kept:?} is missing from {args:?}");
        }
        // Outputs, the module's source, the objtool run, path remapping and
        // codegen-only options.
        for word in args {
            for dropped in [
                "--emit",
                "--out-dir",
                "--remap-path",
                "livepatch_sample",
                "objtool",
                "-Copt-level",
                "-Ccode-model",
                "-Cdebuginfo",
                "-Zbinary_dep_depinfo",
                "-Zdwarf-version",
                "-Zpatchable-function-entry",
            ] {
                assert!(!word.contains(dropped), "`{word}` is kept");
            }
        }
        assert!(has(&["--crate-name", "klp_rs", "--document-private-items"]));
        assert!(has(&["-Dwarnings"]));
        assert!(has(&[
            "--extern-html-root-url",
            "kernel=https://rust.docs.kernel.org/"
        ]));
        assert!(args.ends_with(&["-o".into(), "/doc".into(), "/doc/klp_rs.rs".into()]));
    }

    #[test]
    fn what_is_no_kbuild_rustc_command_is_refused() {
        let (root, out) = (Path::new("/doc/klp_rs.rs"), Path::new("/doc"));
        for (command, error) in [
            ("gcc -c -o a.o a.c", "not a rustc command: it runs `gcc`"),
            (
                "rustc --edition=2021 --emit=obj=a.o",
                "does not end with its `.rs` source",
            ),
            ("rustc --cfg $X a.rs", "shell syntax `$`"),
            ("rustc --cfg 'MODULE a.rs", "unterminated `'`"),
        ] {
            let e = rustdoc_args(command, root, out).unwrap_err().to_string();
            assert!(e.contains(error), "{command}: {e}");
        }
    }

    #[test]
    fn shell_words_are_split_and_unquoted_as_sh_does() {
        assert_eq!(
            shell_words(r#"A=1 rustc -Zx='a(b)' "c d\"e" f\ g  h ; objtool x"#).unwrap(),
            ["A=1", "rustc", "-Zx=a(b)", "c d\"e", "f g", "h"]
        );
    }

    #[test]
    fn srctree_links_name_the_kernel_source_which_must_have_the_file() {
        let dir = std::env::temp_dir().join(format!("klp-rs-srctree-{}", std::process::id()));
        let (pages, source) = (dir.join("klp_rs"), dir.join("linux"));
        std::fs::create_dir_all(pages.join("livepatch")).unwrap();
        std::fs::create_dir_all(source.join("include/linux")).unwrap();
        std::fs::write(source.join("include/linux/livepatch.h"), "").unwrap();
        let page = pages.join("livepatch/index.html");
        let link = |file: &str| format!("<a href=\"srctree/{file}\"><code>{file}</code></a>");
        std::fs::write(&page, link("include/linux/livepatch.h")).unwrap();
        srctree_links(&pages, &source).unwrap();
        let linked = format!(
            "<a href=\"{}/include/linux/livepatch.h\">",
            source.display()
        );
        assert!(std::fs::read_to_string(&page).unwrap().starts_with(&linked));
        std::fs::write(&page, link("include/linux/gone.h")).unwrap();
        let e = srctree_links(&pages, &source).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(e.contains("links to `srctree/include/linux/gone.h`"), "{e}");
    }
}
