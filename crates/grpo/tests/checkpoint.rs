//! Checkpoint directories: saving, retention, and what a crash leaves behind.

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;

use grpo::checkpoint::{self, TrainerState, LATEST_MARKER, TRAINER_STATE_FILE};
use grpo::Error;

fn state(step: u64) -> TrainerState {
    TrainerState {
        step,
        seed: 7,
        data_cursor: serde_json::json!({ "epoch": 1, "position": step * 4 }),
        config: serde_json::json!({ "learning_rate": 1e-5, "group_size": 8 }),
        extra: Default::default(),
    }
}

/// Saves `step` with a trainer state and a second file, like the trainer.
fn save(root: &Path, step: u64, keep: Option<usize>) -> std::path::PathBuf {
    let keep = keep.map(|k| NonZeroUsize::new(k).expect("keep >= 1"));
    checkpoint::save(root, step, keep, |dir| -> Result<(), Error> {
        state(step).write(dir)?;
        fs::create_dir(dir.join("adapters")).unwrap();
        fs::write(
            dir.join("adapters/adapters.safetensors"),
            step.to_le_bytes(),
        )
        .unwrap();
        Ok(())
    })
    .expect("save succeeds")
}

fn names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn save_publishes_a_complete_directory_and_repoints_latest() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(checkpoint::latest(root.path()).unwrap(), None);
    let first = save(root.path(), 100, None);
    assert_eq!(first, root.path().join("step-100"));
    let second = save(root.path(), 200, None);
    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        fs::read_to_string(root.path().join(LATEST_MARKER)).unwrap(),
        "step-200\n"
    );
    assert_eq!(TrainerState::read(&second).unwrap(), state(200));
    assert_eq!(
        fs::read(second.join("adapters/adapters.safetensors")).unwrap(),
        200u64.to_le_bytes()
    );
    assert_eq!(names(root.path()), ["latest", "step-100", "step-200"]);
}

#[test]
fn a_missing_root_has_no_checkpoints() {
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("not-there");
    assert_eq!(checkpoint::latest(&missing).unwrap(), None);
    assert!(checkpoint::list(&missing).unwrap().is_empty());
}

#[test]
fn retention_keeps_the_newest_and_never_the_one_just_written() {
    let root = tempfile::tempdir().unwrap();
    for step in 1..=5 {
        save(root.path(), step * 10, Some(2));
    }
    assert_eq!(names(root.path()), ["latest", "step-40", "step-50"]);

    // A stale higher step from an abandoned run must not evict the new one.
    save(root.path(), 20, Some(2));
    assert_eq!(names(root.path()), ["latest", "step-20", "step-50"]);
    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(root.path().join("step-20"))
    );
    save(root.path(), 30, Some(1));
    assert_eq!(names(root.path()), ["latest", "step-30"]);
}

#[test]
fn crash_while_writing_leaves_the_previous_checkpoint_as_latest() {
    let root = tempfile::tempdir().unwrap();
    let previous = save(root.path(), 100, Some(3));

    // Killed in the middle of writing step 200: a partial temporary
    // directory, a truncated trainer state, and the marker's own temporary.
    let partial = root.path().join("step-200.tmp");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join(TRAINER_STATE_FILE), b"{\"step\": 2").unwrap();
    fs::write(root.path().join("latest.tmp"), b"step-2").unwrap();

    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(previous.clone())
    );
    assert_eq!(TrainerState::read(&previous).unwrap(), state(100));
    let listed: Vec<u64> = checkpoint::list(root.path())
        .unwrap()
        .iter()
        .map(|c| c.step)
        .collect();
    assert_eq!(listed, [100]);

    // The resumed run saves again: the leftover is replaced and cleaned.
    let next = save(root.path(), 200, Some(3));
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(next.clone()));
    assert_eq!(TrainerState::read(&next).unwrap(), state(200));
    assert!(!partial.exists());
}

#[test]
fn failed_write_removes_the_temporary_and_keeps_latest() {
    let root = tempfile::tempdir().unwrap();
    let previous = save(root.path(), 1, None);
    let result = checkpoint::save(root.path(), 2, None, |dir| -> Result<(), Error> {
        fs::write(dir.join("half"), b"...").unwrap();
        Err(Error::Checkpoint {
            path: dir.into(),
            reason: "disk full".into(),
        })
    });
    let err = result.unwrap_err();
    assert!(
        matches!(err, Error::CheckpointWrite { step: 2, .. }),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("checkpoint step-2") && shown.contains("step-1 is intact"),
        "{shown}"
    );
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(previous));
    assert_eq!(names(root.path()), ["latest", "step-1"]);
}

#[test]
fn a_full_disk_is_said_in_words_with_the_checkpoint_that_is_intact() {
    let root = tempfile::tempdir().unwrap();
    save(root.path(), 3, None);
    let err = checkpoint::save(root.path(), 4, None, |dir| -> Result<(), Error> {
        let path = dir.join("adapters.safetensors");
        fs::write(&path, b"half").unwrap();
        Err(Error::Io {
            action: "writing",
            path,
            source: std::io::Error::from_raw_os_error(28), // ENOSPC
        })
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(
            "no space left on device while writing checkpoint step-4; step-3 is intact"
        ),
        "{err}"
    );
    assert_eq!(names(root.path()), ["latest", "step-3"]);
}

#[test]
fn crash_between_rename_and_marker_falls_back_or_keeps_the_marker() {
    let root = tempfile::tempdir().unwrap();
    let first = save(root.path(), 1, None);
    let second = save(root.path(), 2, None);

    // The marker names a checkpoint that is gone (removed by hand, or a
    // crash while replacing it): fall back to the newest complete one.
    fs::remove_dir_all(&second).unwrap();
    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(first.clone())
    );

    // No marker at all (killed between the directory rename and the marker
    // rename): the newest complete directory is the latest.
    fs::remove_file(root.path().join(LATEST_MARKER)).unwrap();
    let third = root.path().join("step-3");
    fs::create_dir(&third).unwrap();
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(third));
}

#[test]
fn saving_the_same_step_twice_replaces_it() {
    let root = tempfile::tempdir().unwrap();
    save(root.path(), 5, None);
    let again = checkpoint::save(root.path(), 5, None, |dir| -> Result<(), Error> {
        let mut s = state(5);
        s.extra.insert("interrupted".into(), true.into());
        s.write(dir)
    })
    .unwrap();
    let read = TrainerState::read(&again).unwrap();
    assert_eq!(
        read.extra.get("interrupted"),
        Some(&serde_json::Value::Bool(true))
    );
    assert!(!again.join("adapters").exists(), "the old content is gone");
    assert_eq!(names(root.path()), ["latest", "step-5"]);
}

#[test]
fn a_corrupt_marker_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    save(root.path(), 1, None);
    fs::write(root.path().join(LATEST_MARKER), "../../etc\n").unwrap();
    let err = checkpoint::latest(root.path()).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("step-100"), "{err}");
}

#[test]
fn trainer_state_keeps_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    // An older version's `rng_key` is one of them: sampling keys are a pure
    // function of the seed and the iteration, so none is saved now.
    let json = r#"{"step": 3, "seed": 1, "rng_key": [0, 1], "data_cursor": null,
                   "config": {}, "optimizer": "adamw", "best_reward": 0.5}"#;
    fs::write(dir.path().join(TRAINER_STATE_FILE), json).unwrap();
    let read = TrainerState::read(dir.path()).unwrap();
    assert_eq!(read.step, 3);
    assert_eq!(read.extra.len(), 3);
    read.write(dir.path()).unwrap();
    let again = TrainerState::read(dir.path()).unwrap();
    assert_eq!(again, read);
    assert!(!dir.path().join("trainer_state.json.tmp").exists());
}

#[test]
fn unreadable_trainer_state_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = TrainerState::read(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains(TRAINER_STATE_FILE), "{err}");
    fs::write(dir.path().join(TRAINER_STATE_FILE), "{\"step\": ").unwrap();
    let err = TrainerState::read(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Json { .. }), "{err}");
}

#[test]
fn a_writer_dying_midway_leaves_only_a_tmp_that_latest_ignores() {
    let root = tempfile::tempdir().unwrap();
    let previous = save(root.path(), 10, Some(2));
    // The closure never returns, as when the process is killed while the
    // adapters are being written: no cleanup runs, the temporary stays.
    let died = std::panic::catch_unwind(|| {
        let _ = checkpoint::save(
            root.path(),
            20,
            NonZeroUsize::new(2),
            |dir| -> Result<(), Error> {
                fs::write(dir.join("adapters.safetensors"), b"partial").unwrap();
                panic!("killed while writing");
            },
        );
    });
    assert!(died.is_err());
    assert_eq!(names(root.path()), ["latest", "step-10", "step-20.tmp"]);
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(previous));
    assert_eq!(
        TrainerState::read(&checkpoint::latest(root.path()).unwrap().unwrap()).unwrap(),
        state(10)
    );
}
