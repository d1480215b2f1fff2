//! The maintainer scripts and the initramfs integration, from the shell
//! files of `scripts/`.

use crate::Scripts;

const FUNCTIONS: &str = include_str!("../scripts/functions.sh");
const SELECT: &str = include_str!("../scripts/select.sh");
const DEB_POSTINST: &str = include_str!("../scripts/deb-postinst.sh");
const DEB_PRERM: &str = include_str!("../scripts/deb-prerm.sh");
const DEB_POSTRM: &str = include_str!("../scripts/deb-postrm.sh");
const RPM_POST: &str = include_str!("../scripts/rpm-post.sh");
const RPM_PREUN: &str = include_str!("../scripts/rpm-preun.sh");
const RPM_POSTUN: &str = include_str!("../scripts/rpm-postun.sh");
const INITRAMFS_TOOLS_HOOK: &str = include_str!("../scripts/initramfs-tools-hook.sh");
const INITRAMFS_TOOLS_INIT_TOP: &str = include_str!("../scripts/initramfs-tools-init-top.sh");
const DRACUT_MODULE_SETUP: &str = include_str!("../scripts/dracut-module-setup.sh");
const DRACUT_PRE_MOUNT: &str = include_str!("../scripts/dracut-pre-mount.sh");

/// What a patch package's scripts are about.
#[derive(Clone, Copy, Debug)]
pub struct Vars<'a> {
    /// The package name.
    pub package: &'a str,
    /// The patch's kernel release.
    pub kernel: &'a str,
    /// The patch's module name.
    pub name: &'a str,
    /// The installed module file.
    pub module: &'a str,
}

/// One script: a shebang, the variables, the shared functions, then `body`.
fn script(vars: &Vars, body: &str) -> String {
    // The values are plain words (checked by the caller): single quotes
    // suffice.
    format!(
        "#!/bin/sh\nset -e\nKLP_RS_PACKAGE='{}'\nKLP_RS_KERNEL='{}'\nKLP_RS_NAME='{}'\n\
         KLP_RS_MODULE='{}'\n\n{FUNCTIONS}\n{body}",
        vars.package, vars.kernel, vars.name, vars.module
    )
}

/// The Debian maintainer scripts: `postinst`, `prerm`, `postrm`.
pub fn deb(vars: &Vars) -> Scripts {
    Scripts {
        post_install: Some(script(vars, DEB_POSTINST)),
        pre_remove: Some(script(vars, DEB_PRERM)),
        post_remove: Some(script(vars, DEB_POSTRM)),
    }
}

/// The RPM scriptlets: `%post`, `%preun`, `%postun`.
pub fn rpm(vars: &Vars) -> Scripts {
    Scripts {
        post_install: Some(script(vars, RPM_POST)),
        pre_remove: Some(script(vars, RPM_PREUN)),
        post_remove: Some(script(vars, RPM_POSTUN)),
    }
}

/// The initramfs integration files with their installed paths: the
/// initramfs-tools hook and `init-top` script, the dracut module and its
/// pre-mount hook.
pub fn boot_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "/usr/share/initramfs-tools/hooks/klp-rs",
            INITRAMFS_TOOLS_HOOK.replace("@SELECT@", SELECT.trim_end()),
        ),
        (
            "/usr/share/initramfs-tools/scripts/init-top/klp-rs",
            INITRAMFS_TOOLS_INIT_TOP.to_string(),
        ),
        (
            "/usr/lib/dracut/modules.d/90klp-rs/module-setup.sh",
            DRACUT_MODULE_SETUP.replace("@SELECT@", SELECT.trim_end()),
        ),
        (
            "/usr/lib/dracut/modules.d/90klp-rs/klp-rs-load.sh",
            DRACUT_PRE_MOUNT.to_string(),
        ),
    ]
}
