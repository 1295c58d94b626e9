//! Checkpoint directories: saving, retention, and what a crash leaves behind.

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;

use grpo::checkpoint::{self, TrainerState, LATEST_MARKER, TRAINER_STATE_FILE};
use grpo::Error;

fn state(iteration: u64) -> TrainerState {
    TrainerState {
        iteration,
        seed: 7,
        data_cursor: serde_json::json!({ "epoch": 1, "position": iteration * 4 }),
        config: serde_json::json!({ "learning_rate": 1e-5, "group_size": 8 }),
        extra: Default::default(),
    }
}

/// Saves `iteration` with a trainer state and a second file, like the trainer.
fn save(root: &Path, iteration: u64, keep: Option<usize>) -> std::path::PathBuf {
    let keep = keep.map(|k| NonZeroUsize::new(k).expect("keep >= 1"));
    checkpoint::save(root, iteration, keep, |dir| -> Result<(), Error> {
        state(iteration).write(dir)?;
        fs::create_dir(dir.join("adapters")).unwrap();
        fs::write(
            dir.join("adapters/adapters.safetensors"),
            iteration.to_le_bytes(),
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
    assert_eq!(first, root.path().join("iteration-100"));
    let second = save(root.path(), 200, None);
    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        fs::read_to_string(root.path().join(LATEST_MARKER)).unwrap(),
        "iteration-200\n"
    );
    assert_eq!(TrainerState::read(&second).unwrap(), state(200));
    assert_eq!(
        fs::read(second.join("adapters/adapters.safetensors")).unwrap(),
        200u64.to_le_bytes()
    );
    assert_eq!(
        names(root.path()),
        ["iteration-100", "iteration-200", "latest"]
    );
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
    for k in 1..=5 {
        save(root.path(), k * 10, Some(2));
    }
    assert_eq!(
        names(root.path()),
        ["iteration-40", "iteration-50", "latest"]
    );

    // A stale higher iteration from an abandoned run must not evict the new one.
    save(root.path(), 20, Some(2));
    assert_eq!(
        names(root.path()),
        ["iteration-20", "iteration-50", "latest"]
    );
    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(root.path().join("iteration-20"))
    );
    save(root.path(), 30, Some(1));
    assert_eq!(names(root.path()), ["iteration-30", "latest"]);
}

#[test]
fn crash_while_writing_leaves_the_previous_checkpoint_as_latest() {
    let root = tempfile::tempdir().unwrap();
    let previous = save(root.path(), 100, Some(3));

    // Killed in the middle of writing iteration 200: a partial temporary
    // directory, a truncated trainer state, and the marker's own temporary.
    let partial = root.path().join("iteration-200.tmp");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join(TRAINER_STATE_FILE), b"{\"step\": 2").unwrap();
    fs::write(root.path().join("latest.tmp"), b"iteration-2").unwrap();

    assert_eq!(
        checkpoint::latest(root.path()).unwrap(),
        Some(previous.clone())
    );
    assert_eq!(TrainerState::read(&previous).unwrap(), state(100));
    let listed: Vec<u64> = checkpoint::list(root.path())
        .unwrap()
        .iter()
        .map(|c| c.iteration)
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
        matches!(err, Error::CheckpointWrite { iteration: 2, .. }),
        "{err}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("checkpoint iteration-2") && shown.contains("iteration-1 is intact"),
        "{shown}"
    );
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(previous));
    assert_eq!(names(root.path()), ["iteration-1", "latest"]);
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
            "no space left on device while writing checkpoint iteration-4; iteration-3 is intact"
        ),
        "{err}"
    );
    assert_eq!(names(root.path()), ["iteration-3", "latest"]);
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
    let third = root.path().join("iteration-3");
    fs::create_dir(&third).unwrap();
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(third));
}

#[test]
fn saving_the_same_iteration_twice_replaces_it() {
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
    assert_eq!(names(root.path()), ["iteration-5", "latest"]);
}

#[test]
fn a_corrupt_marker_is_an_error_naming_it() {
    let root = tempfile::tempdir().unwrap();
    save(root.path(), 1, None);
    fs::write(root.path().join(LATEST_MARKER), "../../etc\n").unwrap();
    let err = checkpoint::latest(root.path()).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("iteration-100"), "{err}");
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
    assert_eq!(read.iteration, 3, "an earlier version's `step`");
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
    assert_eq!(
        names(root.path()),
        ["iteration-10", "iteration-20.tmp", "latest"]
    );
    assert_eq!(checkpoint::latest(root.path()).unwrap(), Some(previous));
    assert_eq!(
        TrainerState::read(&checkpoint::latest(root.path()).unwrap().unwrap()).unwrap(),
        state(10)
    );
}

#[test]
fn checkpoints_of_earlier_versions_resume_and_give_way() {
    // An earlier version named checkpoints `step-N` and its state's count
    // `step`; both still mean N iterations.
    let root = tempfile::tempdir().unwrap();
    for n in [10, 20] {
        let dir = root.path().join(format!("step-{n}"));
        fs::create_dir(&dir).unwrap();
        fs::write(
            dir.join(TRAINER_STATE_FILE),
            format!(r#"{{"step": {n}, "seed": 7, "data_cursor": null, "config": {{}}}}"#),
        )
        .unwrap();
    }
    fs::write(root.path().join(LATEST_MARKER), "step-20\n").unwrap();
    let latest = checkpoint::latest(root.path()).unwrap().unwrap();
    assert_eq!(latest, root.path().join("step-20"));
    assert_eq!(TrainerState::read(&latest).unwrap().iteration, 20);

    // The resumed run saves iteration 20 again (Ctrl-C at once), then 30:
    // the new names replace the old ones, and retention counts both.
    save(root.path(), 20, Some(2));
    assert_eq!(names(root.path()), ["iteration-20", "latest", "step-10"]);
    save(root.path(), 30, Some(2));
    assert_eq!(
        names(root.path()),
        ["iteration-20", "iteration-30", "latest"]
    );
    let state =
        fs::read_to_string(root.path().join("iteration-30").join(TRAINER_STATE_FILE)).unwrap();
    assert!(state.contains("\"iteration\": 30"), "{state}");
}
