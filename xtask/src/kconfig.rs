//! Config fragments: what they ask for, whether a `.config` kept it, and, when
//! Kconfig dropped an option, which dependency it lacks.

use anyhow::{Context, Result};
use std::{collections::BTreeMap, fmt::Write as _, path::Path};

/// Symbol (without `CONFIG_`) to value; `n` for `# CONFIG_X is not set`.
pub type Options = BTreeMap<String, String>;

/// Parses a fragment or a `.config`.
pub fn parse(text: &str) -> Options {
    let mut options = Options::new();
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("# CONFIG_") {
            if let Some(sym) = rest.strip_suffix(" is not set") {
                options.insert(sym.to_string(), "n".into());
            }
        } else if let Some(rest) = line.strip_prefix("CONFIG_") {
            if let Some((sym, value)) = rest.split_once('=') {
                options.insert(sym.to_string(), value.to_string());
            }
        }
    }
    options
}

/// An option of a fragment that the final `.config` does not have.
#[derive(Debug, PartialEq, Eq)]
pub struct Dropped {
    pub symbol: String,
    pub wanted: String,
    pub got: String,
}

/// The options of `wanted` that `config` lost or changed.
pub fn dropped(wanted: &Options, config: &Options) -> Vec<Dropped> {
    wanted
        .iter()
        .filter_map(|(sym, want)| {
            let got = config.get(sym).map_or("n", String::as_str);
            (got != want.as_str()).then(|| Dropped {
                symbol: sym.clone(),
                wanted: want.clone(),
                got: got.to_string(),
            })
        })
        .collect()
}

/// Where a symbol is defined and what it depends on.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Definition {
    pub file: String,
    pub depends: Vec<String>,
    pub has_prompt: bool,
}

/// Finds `config SYMBOL` in one Kconfig file's text.
pub fn definition_in(text: &str, symbol: &str) -> Option<Definition> {
    let mut lines = text.lines();
    let header = [format!("config {symbol}"), format!("menuconfig {symbol}")];
    lines.find(|l| header.iter().any(|h| l.trim() == h))?;
    let mut def = Definition::default();
    for line in lines {
        let t = line.trim();
        let starts_entry = [
            "config ",
            "menuconfig ",
            "choice",
            "endchoice",
            "menu ",
            "endmenu",
            "if ",
            "endif",
            "source ",
        ]
        .iter()
        .any(|k| t.starts_with(k));
        if starts_entry && !line.starts_with([' ', '\t']) {
            break;
        }
        if let Some(dep) = t.strip_prefix("depends on ") {
            def.depends.push(dep.trim().to_string());
        } else if [
            "bool \"",
            "tristate \"",
            "prompt \"",
            "string \"",
            "int \"",
            "hex \"",
        ]
        .iter()
        .any(|p| t.starts_with(p))
        {
            def.has_prompt = true;
        }
    }
    Some(def)
}

/// Symbols of a `depends on` expression that `config` does not enable.
pub fn unmet(expression: &str, config: &Options) -> Vec<String> {
    let mut unmet = Vec::new();
    let mut negated = false;
    for token in expression.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '!')) {
        for part in token.split_inclusive('!') {
            if part == "!" {
                negated = true;
                continue;
            }
            let sym = part.trim_start_matches('!');
            let is_symbol = !sym.is_empty()
                && sym
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && sym.chars().any(|c| c.is_ascii_uppercase());
            if is_symbol {
                let on = matches!(config.get(sym).map(String::as_str), Some("y" | "m"));
                if on == negated {
                    unmet.push(if negated {
                        format!("!{sym}")
                    } else {
                        sym.to_string()
                    });
                }
            }
            negated = false;
        }
    }
    unmet
}

/// A report naming each dropped option and what it lacks, searching the
/// Kconfig files of `source`.
pub fn explain(dropped: &[Dropped], config: &Options, source: &Path) -> Result<String> {
    let kconfigs = kconfig_files(source)?;
    let mut out = String::new();
    for d in dropped {
        writeln!(
            out,
            "  CONFIG_{}: wanted `{}`, got `{}`",
            d.symbol, d.wanted, d.got
        )?;
        let def = kconfigs.iter().find_map(|(file, text)| {
            definition_in(text, &d.symbol).map(|mut def| {
                def.file = file.clone();
                def
            })
        });
        let Some(def) = def else {
            writeln!(
                out,
                "    no Kconfig defines it: the symbol does not exist in this kernel"
            )?;
            continue;
        };
        for dep in &def.depends {
            let unmet = unmet(dep, config);
            if !unmet.is_empty() {
                writeln!(
                    out,
                    "    {}: depends on {dep}; not met: {}",
                    def.file,
                    unmet.join(", ")
                )?;
            }
        }
        if !def.has_prompt {
            writeln!(
                out,
                "    {}: it has no prompt, so only other options can select it",
                def.file
            )?;
        }
    }
    Ok(out)
}

fn kconfig_files(source: &Path) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let mut dirs = vec![source.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                if !path
                    .file_name()
                    .is_some_and(|n| n == "Documentation" || n == ".git")
                {
                    dirs.push(path);
                }
            } else if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("Kconfig"))
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let rel = path
                    .strip_prefix(source)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                files.push((rel, text));
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_set_and_unset_options() {
        let o = parse("CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x\"\n# a comment\n");
        assert_eq!(o.get("A").map(String::as_str), Some("y"));
        assert_eq!(o.get("B").map(String::as_str), Some("n"));
        assert_eq!(o.get("C").map(String::as_str), Some("\"x\""));
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn finds_dropped_and_unwanted_options() {
        let wanted =
            parse("CONFIG_A=y\nCONFIG_B=y\n# CONFIG_C is not set\n# CONFIG_D is not set\n");
        let config = parse("CONFIG_A=y\nCONFIG_C=y\n");
        let names: Vec<_> = dropped(&wanted, &config)
            .into_iter()
            .map(|d| d.symbol)
            .collect();
        assert_eq!(names, ["B", "C"]);
    }

    #[test]
    fn reads_a_definition() {
        let text = "config OTHER\n\tbool \"x\"\n\nconfig KALLSYMS_ALL\n\tbool \"Include all symbols\"\n\tdepends on DEBUG_KERNEL && KALLSYMS\n\thelp\n\t  text\n\nconfig NEXT\n\tdepends on FOO\n";
        let def = definition_in(text, "KALLSYMS_ALL").unwrap();
        assert_eq!(def.depends, ["DEBUG_KERNEL && KALLSYMS"]);
        assert!(def.has_prompt);
        assert!(definition_in(text, "MISSING").is_none());
    }

    #[test]
    fn names_unmet_dependencies() {
        let config = parse("CONFIG_KALLSYMS=y\nCONFIG_EXPOLINE=y\n");
        assert_eq!(unmet("DEBUG_KERNEL && KALLSYMS", &config), ["DEBUG_KERNEL"]);
        assert_eq!(
            unmet("RUST_IS_AVAILABLE && !EXPOLINE", &config),
            ["RUST_IS_AVAILABLE", "!EXPOLINE"]
        );
        assert!(unmet(
            "KALLSYMS || (X86 && m)",
            &parse("CONFIG_KALLSYMS=y\nCONFIG_X86=y")
        )
        .is_empty());
    }
}
