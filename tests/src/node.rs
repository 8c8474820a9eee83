//! Real `bittensor-node` processes: every port chosen by the node itself (port 0) and read
//! back from its log or its RPC, so nodes of scenarios running side by side, in one process or
//! in several, never ask for the same port; queried over JSON-RPC, and killed when dropped
//! (also when a test fails, which then prints the end of the node's log).

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

use crate::node_binary;

/// A port nobody listens on right now and that this test process has not handed out before,
/// for programs that must be told their port (a node's port is chosen by the node itself).
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

/// A running node process with its RPC port and log file.
pub struct NodeProcess {
	name: String,
	child: Child,
	log_path: PathBuf,
	/// JSON-RPC (HTTP and WebSocket) port.
	pub rpc_port: u16,
}

impl NodeProcess {
	/// Starts `bittensor-node` with `args`, its RPC, p2p and Prometheus servers on ports the
	/// system picks; its log goes to `<log_dir>/<name>.log`. Returns once the RPC server
	/// listens, with the port the node reports.
	pub fn start(name: &str, log_dir: &Path, args: &[&str]) -> Self {
		let mut node = Self::spawn(name, log_dir, args, 0);
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
		let log_path = log_dir.join(format!("{name}.log"));
		let log = File::create(&log_path).expect("create the node's log file");
		let child = Command::new(node_binary())
			.args(args)
			.args(["--rpc-port", &rpc_port.to_string()])
			.args(["--port", "0", "--prometheus-port", "0"])
			.args(["--no-telemetry", "--no-mdns", "--rpc-cors", "all"])
			.stdout(Stdio::null())
			.stderr(log)
			.spawn()
			.expect("start bittensor-node");
		Self { name: name.to_string(), child, log_path, rpc_port }
	}

	/// Waits for the node to log the address of its RPC server and returns that port.
	fn listening_rpc_port(&mut self) -> u16 {
		let log_path = self.log_path.clone();
		let address = self.wait_for("JSON-RPC server in the log", Duration::from_secs(60), |_| {
			let log = File::open(&log_path).ok()?;
			BufReader::new(log)
				.lines()
				.map_while(Result::ok)
				.find_map(|line| rpc_address_in_log(&line))
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

	/// Polls `probe` every 250 ms until it returns `Some`, failing the test after `timeout`.
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
			sleep(Duration::from_millis(250));
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

	/// The node's libp2p address on the loopback interface, with its peer id, as its RPC
	/// reports it (`system_localListenAddresses`).
	pub fn multiaddr(&mut self) -> String {
		self.wait_for("a loopback listen address", Duration::from_secs(60), |node| {
			let addresses = node.rpc("system_localListenAddresses", json!([])).ok()?;
			addresses
				.as_array()?
				.iter()
				.filter_map(Value::as_str)
				.find(|address| address.starts_with("/ip4/127.0.0.1/tcp/"))
				.map(str::to_string)
		})
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
