//! Real `bittensor-node` processes for the integration tests: started on free local ports,
//! queried over JSON-RPC, and killed when dropped (also when a test fails, which then prints
//! the end of the node's log).

#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
	fs::File,
	io::{BufRead, BufReader},
	net::{SocketAddr, TcpListener},
	path::{Path, PathBuf},
	process::{Child, Command, Stdio},
	sync::Mutex,
	thread::sleep,
	time::{Duration, Instant},
};

use serde_json::{json, Value};

/// Path of the node binary cargo built for these tests.
pub fn node_binary() -> &'static str {
	env!("CARGO_BIN_EXE_bittensor-node")
}

/// A port nobody listens on right now and that this test process has not handed out before,
/// so nodes started by tests running in parallel do not ask for the same port.
pub fn free_port() -> u16 {
	static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
	let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
	loop {
		let port = TcpListener::bind("127.0.0.1:0")
			.and_then(|listener| listener.local_addr())
			.map(|address| address.port())
			.unwrap_or_else(|error| panic!("no free port: {error}"));
		if !handed_out.contains(&port) {
			handed_out.push(port);
			return port;
		}
	}
}

/// The first address in the node's `Running JSON-RPC server: addr=<a1>,<a2>…` log line.
fn rpc_address_in_log(line: &str) -> Option<SocketAddr> {
	let addresses = line.split("Running JSON-RPC server: addr=").nth(1)?;
	addresses.split(',').next()?.trim().parse().ok()
}

/// A running node process with its ports and log file.
pub struct NodeProcess {
	name: String,
	child: Child,
	log_path: PathBuf,
	/// JSON-RPC (HTTP and WebSocket) port.
	pub rpc_port: u16,
	/// libp2p port.
	pub p2p_port: u16,
	/// Prometheus metrics port.
	pub prometheus_port: u16,
}

impl NodeProcess {
	/// Starts `bittensor-node` with `args` plus free RPC, p2p and Prometheus ports; its log goes
	/// to `<log_dir>/<name>.log`. Returns once the RPC server listens, on the port the node
	/// reports: a node whose requested RPC port was taken meanwhile binds a random one.
	pub fn start(name: &str, log_dir: &Path, args: &[&str]) -> Self {
		let mut node = Self::spawn(name, log_dir, args, free_port());
		node.rpc_port = node.listening_rpc_port();
		node
	}

	/// Like [`NodeProcess::start`], with the RPC server on exactly `rpc_port`; fails the test if
	/// the node had to fall back to another port.
	pub fn start_with_rpc_port(name: &str, log_dir: &Path, args: &[&str], rpc_port: u16) -> Self {
		let mut node = Self::spawn(name, log_dir, args, rpc_port);
		let listening = node.listening_rpc_port();
		assert_eq!(listening, rpc_port, "{name}: RPC port {rpc_port} is in use by another program");
		node
	}

	/// Spawns the node process without waiting for it.
	fn spawn(name: &str, log_dir: &Path, args: &[&str], rpc_port: u16) -> Self {
		let (p2p_port, prometheus_port) = (free_port(), free_port());
		let log_path = log_dir.join(format!("{name}.log"));
		let log = File::create(&log_path).expect("create the node's log file");
		let child = Command::new(node_binary())
			.args(args)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", &p2p_port.to_string()])
			.args(["--prometheus-port", &prometheus_port.to_string()])
			.args(["--no-telemetry", "--no-mdns", "--rpc-cors", "all"])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("start bittensor-node");
		Self { name: name.to_string(), child, log_path, rpc_port, p2p_port, prometheus_port }
	}

	/// Waits for the node to log the address of its RPC server and returns that port.
	fn listening_rpc_port(&mut self) -> u16 {
		let log_path = self.log_path.clone();
		let address = self.wait_for("JSON-RPC server in the log", Duration::from_secs(60), |_| {
			let log = File::open(&log_path).ok()?;
			BufReader::new(log).lines().map_while(Result::ok).find_map(|line| rpc_address_in_log(&line))
		});
		address.port()
	}

	/// WebSocket URL of the node's RPC server.
	pub fn ws_url(&self) -> String {
		format!("ws://127.0.0.1:{}", self.rpc_port)
	}

	/// Calls a JSON-RPC method over HTTP; `Err` if the node is not answering or the call fails.
	pub fn rpc(&self, method: &str, params: Value) -> Result<Value, String> {
		let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
		let response: Value = ureq::post(&format!("http://127.0.0.1:{}", self.rpc_port))
			.timeout(Duration::from_secs(10))
			.send_json(request)
			.map_err(|error| error.to_string())?
			.into_json()
			.map_err(|error| error.to_string())?;
		match response.get("error") {
			Some(error) => Err(error.to_string()),
			None => Ok(response["result"].clone()),
		}
	}

	/// Number of the best block.
	pub fn best_number(&self) -> Result<u32, String> {
		let header = self.rpc("chain_getHeader", json!([]))?;
		block_number(&header)
	}

	/// Number of the last finalized block.
	pub fn finalized_number(&self) -> Result<u32, String> {
		let hash = self.rpc("chain_getFinalizedHead", json!([]))?;
		let header = self.rpc("chain_getHeader", json!([hash]))?;
		block_number(&header)
	}

	/// Polls `probe` every 500 ms until it returns `Some`, failing the test after `timeout`.
	pub fn wait_for<T>(
		&mut self,
		what: &str,
		timeout: Duration,
		mut probe: impl FnMut(&Self) -> Option<T>,
	) -> T {
		let deadline = Instant::now() + timeout;
		loop {
			if let Some(value) = probe(self) {
				return value;
			}
			if let Ok(Some(status)) = self.child.try_wait() {
				panic!("{}: node exited ({status}) while waiting for {what}", self.name);
			}
			if Instant::now() > deadline {
				panic!("{}: no {what} within {} s", self.name, timeout.as_secs());
			}
			sleep(Duration::from_millis(500));
		}
	}

	/// Waits until the best block is at least `height`.
	pub fn wait_for_best(&mut self, height: u32, timeout: Duration) -> u32 {
		self.wait_for(&format!("best block #{height}"), timeout, |node| {
			node.best_number().ok().filter(|number| *number >= height)
		})
	}

	/// Waits until the finalized block is at least `height`.
	pub fn wait_for_finalized(&mut self, height: u32, timeout: Duration) -> u32 {
		self.wait_for(&format!("finalized block #{height}"), timeout, |node| {
			node.finalized_number().ok().filter(|number| *number >= height)
		})
	}

	/// The libp2p address of this node, with its peer id read from its log.
	pub fn multiaddr(&mut self) -> String {
		let log_path = self.log_path.clone();
		let peer_id = self.wait_for("local peer id in the log", Duration::from_secs(60), |_| {
			let log = File::open(&log_path).ok()?;
			BufReader::new(log).lines().map_while(Result::ok).find_map(|line| {
				line.split("Local node identity is: ").nth(1).map(|id| id.trim().to_string())
			})
		});
		format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer_id}", self.p2p_port)
	}

	/// Stops the node with SIGINT, as Ctrl-C would, and waits for it to exit.
	pub fn stop_gracefully(mut self) {
		let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
		let deadline = Instant::now() + Duration::from_secs(30);
		while Instant::now() < deadline {
			if let Ok(Some(_)) = self.child.try_wait() {
				return;
			}
			sleep(Duration::from_millis(100));
		}
		panic!("{}: did not stop within 30 s of SIGINT", self.name);
	}

	/// The last `lines` lines of the node's log.
	pub fn log_tail(&self, lines: usize) -> String {
		let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
		let all: Vec<&str> = log.lines().collect();
		all[all.len().saturating_sub(lines)..].join("\n")
	}
}

impl Drop for NodeProcess {
	fn drop(&mut self) {
		let _ = self.child.kill();
		let _ = self.child.wait();
		if std::thread::panicking() {
			eprintln!("----- last lines of {} -----\n{}", self.name, self.log_tail(40));
		}
	}
}

/// The number in a header returned by `chain_getHeader` (a hex string).
fn block_number(header: &Value) -> Result<u32, String> {
	let hex = header["number"].as_str().ok_or_else(|| format!("no number in {header}"))?;
	u32::from_str_radix(hex.trim_start_matches("0x"), 16).map_err(|error| error.to_string())
}

/// Runs `e2e/<script>` with Node.js against `node`, failing the test (with the script's
/// output) unless it exits successfully; returns its standard output.
pub fn run_e2e_script(script: &str, node: &NodeProcess) -> String {
	let output = Command::new("node")
		.arg(repo_root().join("e2e").join(script))
		.arg(node.ws_url())
		.output()
		.expect("run node (Node.js); scripts/setup.sh installs it");
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(output.status.success(), "{script} failed:\n{stdout}\n{stderr}");
	println!("{stdout}");
	stdout
}

/// Repository root (the node crate's parent directory).
pub fn repo_root() -> PathBuf {
	Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python interpreter of the end-to-end virtual environment that `scripts/setup.sh`
/// creates (`$BITTENSOR_VENV`, by default `~/.cache/bittensor/venv`).
pub fn venv_python() -> PathBuf {
	let venv = std::env::var_os("BITTENSOR_VENV").map(PathBuf::from).unwrap_or_else(|| {
		let home = std::env::var_os("HOME").expect("HOME is set");
		Path::new(&home).join(".cache/bittensor/venv")
	});
	venv.join("bin/python")
}

/// Runs `e2e/<script>` with the virtual environment's Python against `node`, failing the test
/// (with the script's output) unless it exits successfully; returns its standard output.
pub fn run_python_script(script: &str, node: &NodeProcess) -> String {
	let python = venv_python();
	let output = Command::new(&python)
		.arg(repo_root().join("e2e").join(script))
		.arg(node.ws_url())
		.output()
		.unwrap_or_else(|error| panic!("run {}: {error}; scripts/setup.sh creates it", python.display()));
	let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
	let stderr = String::from_utf8_lossy(&output.stderr);
	assert!(output.status.success(), "{script} failed:\n{stdout}\n{stderr}");
	println!("{stdout}");
	stdout
}
