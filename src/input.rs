//! Reading what a user hands us, bounded: only regular files, and only up to a size, so that
//! `/dev/zero`, a named pipe or a runaway generated file is refused at once instead of filling
//! memory or waiting forever. Every file a command reads goes through here (docs/language.md,
//! "Limits").

use std::fmt;
use std::io::Read;
use std::path::Path;

/// The most bytes of one text file read: a playbook, an imported file, a hook. Far beyond any
/// playbook written by hand or generated (a 10,000-step playbook is about 300 KB), and small
/// enough that checking the largest allowed file stays within a few hundred megabytes.
pub const MAX_TEXT_BYTES: u64 = 4 * 1024 * 1024;

/// The most bytes of a zip that `update code from` uploads: Lambda's own limit on a zip sent
/// directly (larger code goes through S3, which a playbook does not do).
pub const MAX_ZIP_BYTES: u64 = 50 * 1024 * 1024;

/// Why a file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// A directory, a device, a pipe or a socket: only regular files are read.
    NotAFile(&'static str),
    /// Larger than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Not UTF-8 text.
    NotText,
    /// The operating system said no.
    Io(std::io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotAFile(what) => write!(f, "it is {what}, not a regular file"),
            ReadError::TooLarge { limit } => {
                write!(
                    f,
                    "it is larger than {}, the most rollout reads",
                    size(*limit)
                )
            }
            ReadError::NotText => f.write_str("it is not UTF-8 text"),
            ReadError::Io(e) => e.fmt(f),
        }
    }
}

impl ReadError {
    /// What to do about it, for a diagnostic's hint.
    pub fn hint(&self) -> &'static str {
        match self {
            ReadError::NotAFile(_) => "name a regular file: rollout reads no directories, devices or pipes",
            ReadError::TooLarge { .. } => "split the file with `import`, or define repeated steps once with `step NAME(…) { … }`",
            ReadError::NotText => "save the file as UTF-8 text",
            ReadError::Io(_) => "check the path and that the file is readable",
        }
    }
}

/// `bytes` in the largest whole unit: `4 MiB`, `50 MiB`, `512 bytes`.
pub fn size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The text of the regular file at `path`, at most [`MAX_TEXT_BYTES`]. A byte order mark is kept
/// (the parser skips it).
pub fn read_text(path: &Path) -> Result<String, ReadError> {
    let bytes = read_bytes(path, MAX_TEXT_BYTES)?;
    String::from_utf8(bytes).map_err(|_| ReadError::NotText)
}

/// The bytes of the regular file at `path`, at most `limit` of them.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Looked at before opening: opening a named pipe would wait for a writer.
    let kind = std::fs::metadata(path).map_err(ReadError::Io)?;
    regular(&kind)?;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let opened = file.metadata().map_err(ReadError::Io)?;
    regular(&opened)?;
    if opened.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    // A file that grows while it is read (or a /proc file that reports no length) is still
    // read no further than the limit.
    let mut bytes = Vec::with_capacity(opened.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

fn regular(metadata: &std::fs::Metadata) -> Result<(), ReadError> {
    if metadata.is_file() {
        return Ok(());
    }
    Err(ReadError::NotAFile(if metadata.is_dir() {
        "a directory"
    } else {
        "a device, a pipe or a socket"
    }))
}

/// Whether `a` and `b` name the same file (through links too); false when either does not
/// exist.
pub fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        x.dev() == y.dev() && x.ino() == y.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (x, y);
        matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_large_files_are_refused_small_files_read() {
        assert!(matches!(
            read_text(Path::new("/dev/zero")),
            Err(ReadError::NotAFile(_))
        ));
        assert!(matches!(
            read_text(Path::new("/")),
            Err(ReadError::NotAFile("a directory"))
        ));
        let dir = std::env::temp_dir().join(format!("rollout-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big");
        std::fs::write(&big, vec![b'#'; 2048]).unwrap();
        assert!(matches!(
            read_bytes(&big, 1024),
            Err(ReadError::TooLarge { limit: 1024 })
        ));
        assert_eq!(read_bytes(&big, 2048).unwrap().len(), 2048);
        std::fs::write(&big, [0xff, 0xfe]).unwrap();
        assert!(matches!(read_text(&big), Err(ReadError::NotText)));
        assert!(same_file(&big, &dir.join(".").join("big")));
        assert!(!same_file(&big, &dir.join("missing")));
        assert_eq!(size(MAX_TEXT_BYTES), "4 MiB");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
