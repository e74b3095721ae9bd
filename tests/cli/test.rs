//! A builder for running the `rollout` executable: files, arguments, expectations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory under the system temp dir.
pub(crate) fn temp_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "rollout-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// One run of `rollout`.
pub(crate) struct Test {
    dir: PathBuf,
    args: Vec<String>,
    status: i32,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
}

impl Test {
    /// A run in the repository root.
    pub(crate) fn new() -> Self {
        Test {
            dir: root(),
            args: Vec::new(),
            status: 0,
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
        }
    }

    /// A run in a fresh temporary directory.
    pub(crate) fn temp() -> Self {
        Test {
            dir: temp_dir(),
            ..Test::new()
        }
    }

    /// Runs in `dir`.
    pub(crate) fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = dir.as_ref().to_path_buf();
        self
    }

    /// Writes a file relative to the run's directory.
    pub(crate) fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(path, text).expect("write file");
        self
    }

    /// Adds arguments.
    pub(crate) fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The expected exit status (default 0).
    pub(crate) fn status(mut self, status: i32) -> Self {
        self.status = status;
        self
    }

    /// The exact expected standard output.
    pub(crate) fn stdout(mut self, text: &str) -> Self {
        self.stdout = Some(text.to_string());
        self
    }

    /// Text standard output must contain.
    pub(crate) fn stdout_contains(mut self, text: &str) -> Self {
        self.stdout_contains.push(text.to_string());
        self
    }

    /// Text standard error must contain.
    pub(crate) fn stderr_contains(mut self, text: &str) -> Self {
        self.stderr_contains.push(text.to_string());
        self
    }

    /// The directory the run happens in.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs and checks every expectation; returns the output for further checks.
    pub(crate) fn run(self) -> Output {
        let output = command(&self.dir, &self.args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let context = format!(
            "rollout {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            self.args.join(" ")
        );
        assert_eq!(
            output.status.code(),
            Some(self.status),
            "exit status of {context}"
        );
        if let Some(expected) = &self.stdout {
            assert_eq!(&stdout, expected, "stdout of {context}");
        }
        for text in &self.stdout_contains {
            assert!(
                stdout.contains(text.as_str()),
                "stdout lacks {text:?}: {context}"
            );
        }
        for text in &self.stderr_contains {
            assert!(
                stderr.contains(text.as_str()),
                "stderr lacks {text:?}: {context}"
            );
        }
        output
    }
}

/// Runs `rollout` in `dir` without colour, as logs see it.
pub(crate) fn command(dir: &Path, args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rollout"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("run rollout")
}

/// The `.rollout` files directly in `dir`, sorted.
pub(crate) fn rollout_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rollout"))
        .collect();
    files.sort();
    files
}

/// Compares `actual` with the stored file `tests/expected/NAME`; `BLESS=1` rewrites the file.
pub(crate) fn golden(name: &str, actual: &str) {
    let path = root().join("tests/expected").join(name);
    if std::env::var_os("BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no {} (run with BLESS=1 to create it)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}
