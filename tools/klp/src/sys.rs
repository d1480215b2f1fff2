//! The only code that asks the running kernel for something a plain file
//! cannot give: module loading and removal, who we are, and a patch's sysfs
//! attributes, which answer `ENODEV` while the kernel removes them.
//!
//! [`Kernel`] is a trait so that the decisions of `klp load`, `unload` and
//! `downgrade` can be tested on the host against a fake; [`Syscalls`] is the
//! real thing (`srctree/kernel/module/main.c`: `finit_module`,
//! `delete_module`; `srctree/kernel/livepatch/core.c`: `enabled_show`,
//! `enabled_store`).

use std::{
    ffi::CString,
    fs::{self, File, OpenOptions},
    io::{self, Write},
    os::fd::AsRawFd,
    path::Path,
};

/// What `klp` needs from the kernel besides reading directories and files.
pub trait Kernel {
    /// Whether the caller may load and remove modules (effective uid 0).
    fn is_root(&self) -> bool;

    /// Loads the module in `file` with no parameters.
    fn load_module(&mut self, file: &Path) -> io::Result<()>;

    /// Removes the module `name` without waiting for its users.
    fn remove_module(&mut self, name: &str) -> io::Result<()>;

    /// Reads the sysfs attribute `path`, e.g. a patch's `enabled`.
    fn read_attr(&self, path: &Path) -> io::Result<String>;

    /// Writes `value` to the existing sysfs attribute `path`, e.g. `0` to a
    /// patch's `enabled`.
    fn write_attr(&mut self, path: &Path, value: &str) -> io::Result<()>;
}

/// The running kernel, through `libc`.
pub struct Syscalls;

impl Kernel for Syscalls {
    fn is_root(&self) -> bool {
        // SAFETY: `geteuid` has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    fn load_module(&mut self, file: &Path) -> io::Result<()> {
        let file = File::open(file)?;
        let (fd, params) = (file.as_raw_fd(), c"".as_ptr());
        // SAFETY: `fd` is an open descriptor that outlives the call,
        // `params` is a NUL-terminated string, and flags 0 asks for no
        // special handling.
        let ret = unsafe { libc::syscall(libc::SYS_finit_module, fd, params, 0) };
        if ret == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn remove_module(&mut self, name: &str) -> io::Result<()> {
        let name = CString::new(name).map_err(io::Error::other)?;
        let (name, flags) = (name.as_ptr(), libc::O_NONBLOCK);
        // SAFETY: `name` is a NUL-terminated string that outlives the call;
        // `O_NONBLOCK` makes the kernel fail with `EWOULDBLOCK` rather than
        // wait for the module's users.
        let ret = unsafe { libc::syscall(libc::SYS_delete_module, name, flags) };
        if ret == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn read_attr(&self, path: &Path) -> io::Result<String> {
        fs::read_to_string(path)
    }

    fn write_attr(&mut self, path: &Path, value: &str) -> io::Result<()> {
        // One `write` call: sysfs takes a store as a whole.
        OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(value.as_bytes())
    }
}
