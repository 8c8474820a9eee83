//! Embeds the git commit into `bittensor-node --version`, and rebuilds when it changes.
//!
//! The git files naming the commit are watched by paths relative to this crate (substrate's
//! `rerun_if_git_head_changed` names them by absolute path, which would rebuild the node in
//! every clone that shares the target directory, commit unchanged).

use std::process::Command;
use substrate_build_script_utils::generate_cargo_keys;

fn main() {
	generate_cargo_keys();
	let git = |args: &[&str]| -> Option<String> {
		let output = Command::new("git").args(args).output().ok()?;
		output
			.status
			.success()
			.then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
	};
	// `--git-path` answers relative to the working directory, this crate's root.
	let git_path = |name: &str| git(&["rev-parse", "--git-path", name]);
	let Some(head) = git_path("HEAD").filter(|path| std::path::Path::new(path).is_file()) else {
		println!("cargo:warning=not in a git repository: the version names no commit");
		println!("cargo:rerun-if-changed=build.rs");
		return;
	};
	println!("cargo:rerun-if-changed={head}");
	// The branch HEAD names: its loose ref, or while it has none, `packed-refs` and the folder
	// where a loose ref would appear.
	let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) else { return };
	let Some(loose) = git_path(&branch) else { return };
	let loose = std::path::Path::new(&loose);
	if loose.is_file() {
		println!("cargo:rerun-if-changed={}", loose.display());
	} else {
		if let Some(packed) = git_path("packed-refs").filter(|p| std::path::Path::new(p).is_file())
		{
			println!("cargo:rerun-if-changed={packed}");
		}
		if let Some(folder) = loose.parent() {
			println!("cargo:rerun-if-changed={}", folder.display());
		}
	}
}
