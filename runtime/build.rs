//! Builds the runtime's wasm blob, which the node embeds and executes.
//!
//! The wasm builder tells cargo which files to watch by absolute path: the workspace's crates
//! as they lie in this clone. A clone in another directory sharing the target directory would
//! then find those paths gone, rebuild the blob, and with it this crate and the node above it.
//! So the builder runs as a child of this script, and its paths inside the workspace reach
//! cargo relative to this crate, which cargo resolves in whichever clone it builds.

#[cfg(feature = "std")]
fn main() {
	use std::{
		env,
		path::{Path, PathBuf},
		process::{exit, Command, Stdio},
	};

	/// Set for the child that runs the wasm builder.
	const CHILD: &str = "BITTENSOR_RUNTIME_WASM_BUILDER_CHILD";
	if env::var_os(CHILD).is_some() {
		substrate_wasm_builder::WasmBuilder::build_using_defaults();
		return;
	}

	let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
	let workspace = manifest_dir.parent().unwrap_or(&manifest_dir).to_path_buf();
	let this_script = env::current_exe().unwrap_or_else(|error| {
		eprintln!("cannot find the runtime's build script: {error}");
		exit(1)
	});
	let child = Command::new(this_script)
		.env(CHILD, "1")
		.stdin(Stdio::null())
		.stderr(Stdio::inherit())
		.output()
		.unwrap_or_else(|error| {
			eprintln!("cannot run the wasm builder: {error}");
			exit(1)
		});

	// `<workspace>/pallets/x.rs` becomes `../pallets/x.rs`, `<workspace>/./Cargo.lock`
	// `../Cargo.lock`; paths outside the workspace (the registry, the target directory) are
	// the same for every clone and stay as they are.
	let relative = |path: &Path| -> Option<PathBuf> {
		let inside = path.strip_prefix(&workspace).ok()?;
		let inside: PathBuf = inside.components().filter(|c| c.as_os_str() != ".").collect();
		Some(Path::new("..").join(inside))
	};
	for line in String::from_utf8_lossy(&child.stdout).lines() {
		match line.strip_prefix("cargo:rerun-if-changed=") {
			Some(path) => match relative(Path::new(path)) {
				Some(relative) => println!("cargo:rerun-if-changed={}", relative.display()),
				None => println!("{line}"),
			},
			None => println!("{line}"),
		}
	}
	exit(child.status.code().unwrap_or(1));
}

#[cfg(not(feature = "std"))]
fn main() {}
