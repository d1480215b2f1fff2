//! End of support as machine-readable lifecycle data, in the format of
//! SUSE's `/usr/share/lifecycle/*.lifecycle` (zypper-lifecycle): `#`
//! comments, then `name, version, date` lines.

use klp::date::Date;

/// The months of support after the kernel's release, as `klp lifecycle`
/// counts them.
pub const DEFAULT_SUPPORT_MONTHS: u32 = 13;

/// Where a package's lifecycle file is installed.
pub fn path(package: &str) -> String {
    format!("/usr/share/klp-rs/lifecycle/{package}.lifecycle")
}

/// The lifecycle file of version `version` of `package`, whose kernel
/// `kernel` was released on `released`, supported until `end`.
pub fn file(package: &str, version: &str, kernel: &str, released: Date, end: Date) -> String {
    format!(
        "# klp-rs live patch of kernel {kernel} (released {released}): supported until {end}\n\
         # format: name, version, end of support (as /usr/share/lifecycle/*.lifecycle)\n\
         {package}, {version}, {end}\n"
    )
}
