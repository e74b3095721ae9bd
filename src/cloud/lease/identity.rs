//! Who holds a lease.
//!
//! `user@host:pid` tells people who holds a lease, but not a program: identical containers and
//! CI pods share the user and the host name, and each has its own process ids. So the holder
//! also carries an identity: a digest of the machine (its machine id, boot id, process-id
//! namespace and host name: two containers differ in their namespace, two hosts in their boot)
//! and a random token of the run. A lease is ours only when both match, and a holder is known to
//! be gone only when its machine is this one and its process has ended here.

use super::{holder_token, Marker};

/// `user@host` of this process.
pub fn user_at_host() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "someone".into());
    format!(
        "{user}@{}",
        host_name().unwrap_or_else(|| "localhost".into())
    )
}

/// The host name: the kernel's (which a container sets), else `/etc/hostname` or `HOSTNAME`.
fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| crate::input::read_text(std::path::Path::new(path)).ok())
        .map(|h| h.trim().to_string())
        .find(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
}

/// `user@host:pid` of this process.
pub fn holder() -> String {
    format!("{}:{}", user_at_host(), std::process::id())
}

/// Who this process is to a program: the machine it runs on and a token of this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// A digest of the machine, or `None` where the machine cannot be told apart from another
    /// (no boot id and no process-id namespace to read: not Linux).
    pub machine: Option<String>,
    /// Random, drawn once per process.
    pub run: String,
}

impl Identity {
    /// This process's identity, the same every time it is asked.
    pub fn current() -> &'static Identity {
        static CURRENT: std::sync::OnceLock<Identity> = std::sync::OnceLock::new();
        CURRENT.get_or_init(|| Identity {
            machine: machine(),
            run: format!("{:08x}", random() as u32),
        })
    }

    /// As the marker's `i=` keeps it: `MACHINE.RUN`, `-` for a machine not told apart.
    pub fn token(&self) -> String {
        format!("{}.{}", self.machine.as_deref().unwrap_or("-"), self.run)
    }

    /// The machine part of a marker's `i=`, when it names one.
    fn machine_of(id: &str) -> Option<&str> {
        id.split_once('.')
            .map(|(machine, _)| machine)
            .filter(|m| *m != "-")
    }
}

/// A random number from the operating system's randomness (through the standard library's
/// randomly keyed hasher), so no dependency is needed for a token.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A digest of what makes this machine this machine to its processes: the machine id (which
/// copies of one image may share), the boot id (different on every host and every boot), the
/// process-id namespace (different in every container and `unshare --pid`, whose process ids
/// mean nothing elsewhere) and the host name. `None` when neither the boot id nor the
/// namespace can be read.
fn machine() -> Option<String> {
    let read = |path: &str| {
        crate::input::read_text(std::path::Path::new(path))
            .ok()
            .map(|t| t.trim().to_string())
    };
    let boot = read("/proc/sys/kernel/random/boot_id");
    let namespace = pid_namespace();
    if boot.is_none() && namespace.is_none() {
        return None;
    }
    let text = format!(
        "{}|{}|{}|{}",
        read("/etc/machine-id")
            .or_else(|| read("/var/lib/dbus/machine-id"))
            .unwrap_or_default(),
        boot.unwrap_or_default(),
        namespace.unwrap_or_default(),
        host_name().unwrap_or_default()
    );
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Some(format!("{:08x}", (hash ^ (hash >> 32)) as u32))
}

/// The process-id namespace this process lives in, as `device:inode`.
#[cfg(unix)]
fn pid_namespace() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let namespace = std::fs::metadata("/proc/self/ns/pid").ok()?;
    Some(format!("{}:{}", namespace.dev(), namespace.ino()))
}

/// The process-id namespace this process lives in: none outside Unix.
#[cfg(not(unix))]
fn pid_namespace() -> Option<String> {
    None
}

/// Whether the holder of `marker` was a process of this user on this machine (the same
/// machine digest: same host, boot and process-id namespace) that has ended: its lease can be
/// taken over without waiting for it to go stale. Whatever cannot be proved (a marker without
/// an identity, a machine not told apart, a process id still in use) is not gone.
pub fn gone_from_here(marker: &Marker) -> bool {
    let here = Identity::current();
    let same_machine = match (
        &here.machine,
        marker.id.as_deref().and_then(Identity::machine_of),
    ) {
        (Some(here), Some(there)) => here == there,
        _ => false,
    };
    let Some(pid) = marker
        .holder
        .rsplit_once(':')
        .and_then(|(_, pid)| pid.parse::<u32>().ok())
    else {
        return false;
    };
    same_machine
        && holder_token(&format!("{}:{pid}", user_at_host())) == marker.holder
        && !alive(pid)
}

/// Whether process `pid` runs on this machine (or might: when unsure, yes).
#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return true;
    };
    // Signal 0 checks that the process exists; EPERM means it does, as someone else's.
    // SAFETY: kill with signal 0 sends nothing; it only checks the process.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Whether process `pid` runs on this machine (or might: when unsure, yes).
#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}
