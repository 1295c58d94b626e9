//! Writing a whole output directory (a converted or fused model) so that it
//! appears complete or not at all, and never replaces a user's directory by
//! accident.
//!
//! Files are written into a hidden sibling directory (`.NAME.tmp-PID`),
//! which is renamed into place only when everything is written. A failure
//! (or Ctrl-C) leaves the destination as it was. An existing non-empty
//! destination is refused unless the caller was told to replace it
//! (`--force`); it is then moved aside first and deleted only after the new
//! directory is in place.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A directory being written; [`commit`](Self::commit) moves it into place.
#[derive(Debug)]
pub struct OutputDir {
    staging: PathBuf,
    dest: PathBuf,
    replace: bool,
    committed: bool,
}

impl OutputDir {
    /// Starts writing `dest`. Fails when `dest` is a non-empty directory and
    /// `replace` is false, or when it exists and is not a directory.
    pub fn create(dest: &Path, replace: bool) -> Result<Self> {
        if dest.exists() {
            if !dest.is_dir() {
                return Err(Error::OutputExists {
                    path: dest.to_path_buf(),
                    hint: "it is a file, not a directory; choose another path",
                });
            }
            let empty = std::fs::read_dir(dest)
                .map_err(|e| Error::io(dest, e))?
                .next()
                .is_none();
            if !empty && !replace {
                return Err(Error::OutputExists {
                    path: dest.to_path_buf(),
                    hint: "pass --force to replace it, or choose another path",
                });
            }
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let staging = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
        }
        std::fs::create_dir(&staging).map_err(|e| Error::io(&staging, e))?;
        Ok(Self {
            staging,
            dest: dest.to_path_buf(),
            replace,
            committed: false,
        })
    }

    /// Where to write the files now.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The final location.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Moves the written directory into place, replacing `dest` if allowed.
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut aside = None;
        if self.dest.exists() {
            // An empty directory is replaced silently; a non-empty one only
            // with `replace` (checked again: it may have filled meanwhile).
            let empty = std::fs::read_dir(&self.dest)
                .map_err(|e| Error::io(&self.dest, e))?
                .next()
                .is_none();
            if empty {
                std::fs::remove_dir(&self.dest).map_err(|e| Error::io(&self.dest, e))?;
            } else if self.replace {
                let old = self.staging.with_extension("old");
                std::fs::rename(&self.dest, &old).map_err(|e| Error::io(&self.dest, e))?;
                aside = Some(old);
            } else {
                return Err(Error::OutputExists {
                    path: self.dest.clone(),
                    hint: "pass --force to replace it, or choose another path",
                });
            }
        }
        std::fs::rename(&self.staging, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.committed = true;
        if let Some(old) = aside {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(self.dest.clone())
    }
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_on_commit_and_refuses_to_replace_without_force() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("model");
        let out = OutputDir::create(&dest, false).unwrap();
        std::fs::write(out.path().join("a.txt"), "new").unwrap();
        assert!(!dest.exists());
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(dest.join("a.txt")).unwrap(), "new");

        let err = OutputDir::create(&dest, false).unwrap_err().to_string();
        assert!(err.contains("--force"), "{err}");

        let out = OutputDir::create(&dest, true).unwrap();
        std::fs::write(out.path().join("b.txt"), "newer").unwrap();
        out.commit().unwrap();
        assert!(!dest.join("a.txt").exists());
        assert!(dest.join("b.txt").exists());
        let leftovers: Vec<_> = std::fs::read_dir(root.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "staging and old directories are gone");
    }

    #[test]
    fn an_abandoned_write_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("model");
        {
            let out = OutputDir::create(&dest, false).unwrap();
            std::fs::write(out.path().join("a.txt"), "x").unwrap();
        }
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }
}
