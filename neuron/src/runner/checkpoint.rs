//! A checkpoint is a directory: the model and both optimizers (burn's files), the model's
//! configuration (`config.json`) and the rest of the neuron's state (`state.json`, a
//! [`Checkpoint`]). Other processes read `state.json` too (`neuron localnet` reads whom each
//! neuron flags), so its format is one typed struct rather than keys spelled out where it is
//! written and wherever it is read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RunError;
use crate::{
	nucleus::{NucleusConfig, Trainer},
	scoring::Ledger,
};

/// The file of a checkpoint directory that holds its [`Checkpoint`].
const STATE_FILE: &str = "state.json";

/// What a checkpoint holds beside the model: `state.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
	/// Steps the model had trained.
	pub step: u64,
	/// What the validator knew of every peer.
	pub ledger: Ledger,
}

/// `state.json` as read back, its ledger left as JSON: one of an older format is dropped
/// (peers are measured afresh) while the rest of the checkpoint still resumes.
#[derive(Deserialize)]
struct SavedState {
	#[serde(default)]
	step: u64,
	#[serde(default)]
	ledger: serde_json::Value,
}

impl SavedState {
	/// The state saved under `dir`; `None` when there is none.
	fn read(dir: &Path) -> Result<Option<Self>, RunError> {
		let state_file = dir.join(STATE_FILE);
		if !state_file.exists() {
			return Ok(None);
		}
		let bytes = std::fs::read(&state_file).map_err(file_error(&state_file))?;
		serde_json::from_slice(&bytes)
			.map(Some)
			.map_err(|source| RunError::CheckpointState { path: state_file, source })
	}

	/// The ledger, if it is of the current format.
	fn ledger(self) -> Option<Ledger> {
		serde_json::from_value(self.ledger).ok()
	}
}

impl Checkpoint {
	/// The checkpoint saved under `dir` (as [`save_checkpoint`] writes it); `None` when there
	/// is none, or when its ledger is of an older format.
	pub fn read(dir: &Path) -> Result<Option<Self>, RunError> {
		let Some(state) = SavedState::read(dir)? else { return Ok(None) };
		let step = state.step;
		Ok(state.ledger().map(|ledger| Self { step, ledger }))
	}

	/// Writes `state.json` under `dir`.
	fn write(&self, dir: &Path) -> Result<(), RunError> {
		let state_file = dir.join(STATE_FILE);
		let text = serde_json::to_string(self)
			.map_err(|source| RunError::CheckpointState { path: state_file.clone(), source })?;
		std::fs::write(&state_file, text).map_err(file_error(&state_file))
	}
}

/// The file-error maker for `path`.
fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
	move |source| RunError::CheckpointFile { path: path.to_path_buf(), source }
}

/// Saves the model, both optimizers and `ledger` under `dir` (written beside it first, then
/// moved into place, so a crash leaves the previous checkpoint whole). A model with a parameter
/// that is not finite is refused ([`Trainer::save`]), and the previous checkpoint kept.
pub fn save_checkpoint(trainer: &Trainer, ledger: Ledger, dir: &Path) -> Result<(), RunError> {
	let staging = dir.with_extension("new");
	let _ = std::fs::remove_dir_all(&staging);
	std::fs::create_dir_all(&staging).map_err(file_error(&staging))?;
	trainer.save(&staging).map_err(|source| {
		let _ = std::fs::remove_dir_all(&staging);
		RunError::CheckpointModel { path: staging.clone(), source }
	})?;
	let config_file = staging.join("config.json");
	std::fs::write(&config_file, trainer.config.to_string()).map_err(file_error(&config_file))?;
	Checkpoint { step: trainer.step, ledger }.write(&staging)?;
	let _ = std::fs::remove_dir_all(dir);
	std::fs::rename(&staging, dir).map_err(file_error(dir))
}

/// Resumes from the checkpoint under `dir` (or the one being written beside it), if any. A
/// ledger of an older format is dropped: peers are measured afresh.
pub fn load_checkpoint(
	trainer: &mut Trainer,
	ledger: &mut Ledger,
	dir: &Path,
) -> Result<bool, RunError> {
	let dir: PathBuf =
		if dir.join(STATE_FILE).exists() { dir.to_path_buf() } else { dir.with_extension("new") };
	let Some(state) = SavedState::read(&dir)? else { return Ok(false) };
	check_shape(&dir, &trainer.config)?;
	trainer
		.load(&dir)
		.map_err(|source| RunError::CheckpointModel { path: dir.clone(), source })?;
	trainer.step = state.step;
	if let Some(saved) = state.ledger() {
		*ledger = saved;
	}
	Ok(true)
}

/// Refuses a checkpoint under `dir` whose saved configuration (if it has one: older
/// checkpoints do not) describes a model of another shape than `configured`.
fn check_shape(dir: &Path, configured: &NucleusConfig) -> Result<(), RunError> {
	let config_file = dir.join("config.json");
	if !config_file.exists() {
		return Ok(());
	}
	let text = std::fs::read_to_string(&config_file).map_err(file_error(&config_file))?;
	let saved: NucleusConfig = serde_json::from_str(&text)
		.map_err(|source| RunError::CheckpointState { path: config_file.clone(), source })?;
	if saved.same_shape(configured) {
		return Ok(());
	}
	Err(RunError::CheckpointShape {
		path: dir.to_path_buf(),
		saved: Box::new(saved),
		configured: Box::new(configured.clone()),
	})
}

#[cfg(test)]
mod tests {
	use burn::{
		module::{Module, ModuleMapper, Param},
		prelude::{Device, Tensor},
		store::RecordError,
	};

	use super::*;

	/// Turns every parameter it maps into NaN.
	struct Poison;

	impl ModuleMapper for Poison {
		fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
			param.map(|tensor| tensor.mul_scalar(f32::NAN))
		}
	}

	#[test]
	fn a_model_with_a_nan_parameter_keeps_the_last_good_checkpoint() {
		let config = NucleusConfig { gate_width: 8, ..NucleusConfig::default() };
		let mut trainer = Trainer::new(config, &Device::flex(), 3);
		trainer.step = 4;
		let dir = tempfile::tempdir().expect("a directory");
		let path = dir.path().join("checkpoint");
		save_checkpoint(&trainer, Ledger::new(0.1), &path).expect("a finite model is saved");
		trainer.step = 9;
		trainer.model.encoder = trainer.model.encoder.clone().map(&mut Poison);
		let error = save_checkpoint(&trainer, Ledger::new(0.1), &path).unwrap_err();
		assert!(
			matches!(&error, RunError::CheckpointModel { source: RecordError::Validation(_), .. }),
			"{error}"
		);
		assert!(error.to_string().contains("not finite"), "{error}");
		assert!(!path.with_extension("new").exists(), "nothing left half-written");
		assert_eq!(Checkpoint::read(&path).expect("read").map(|c| c.step), Some(4));
		let mut resumed = Trainer::new(trainer.config.clone(), &Device::flex(), 5);
		assert!(load_checkpoint(&mut resumed, &mut Ledger::new(0.1), &path).expect("the last"));
		assert_eq!((resumed.step, resumed.check_parameters()), (4, Ok(())));
	}

	#[test]
	fn the_state_file_keeps_its_format() {
		let mut ledger = Ledger::new(0.1);
		ledger.observe(3, 0.5, Some(0.0));
		let checkpoint = Checkpoint { step: 7, ledger };
		let dir = tempfile::tempdir().expect("a directory");
		assert_eq!(Checkpoint::read(dir.path()).expect("nothing to read"), None);
		checkpoint.write(dir.path()).expect("write");
		let text = std::fs::read_to_string(dir.path().join(STATE_FILE)).expect("written");
		let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
		assert_eq!(value["step"], 7);
		assert_eq!(value["ledger"], serde_json::to_value(&checkpoint.ledger).expect("a ledger"));
		let read = Checkpoint::read(dir.path()).expect("read");
		assert_eq!(read.as_ref().map(|c| c.step), Some(7));
		assert_eq!(read.map(|c| c.ledger.scores()), Some(checkpoint.ledger.scores()));
	}

	#[test]
	fn an_older_ledger_is_dropped_and_the_step_kept() {
		let dir = tempfile::tempdir().expect("a directory");
		let state_file = dir.path().join(STATE_FILE);
		std::fs::write(&state_file, r#"{"step": 12, "ledger": {"scores": [1, 2]}}"#)
			.expect("write");
		assert_eq!(Checkpoint::read(dir.path()).expect("read"), None);
		let state = SavedState::read(dir.path()).expect("read").expect("a state");
		assert_eq!(state.step, 12);
		assert!(state.ledger().is_none());
		std::fs::write(&state_file, "not JSON").expect("write");
		assert!(matches!(Checkpoint::read(dir.path()), Err(RunError::CheckpointState { .. })));
	}
}
