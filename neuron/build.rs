//! Compiles `proto/neuron.proto` into the tonic server and client of the wire protocol.

fn main() -> Result<(), Box<dyn std::error::Error>> {
	println!("cargo:rerun-if-changed=proto/neuron.proto");
	tonic_prost_build::compile_protos("proto/neuron.proto")?;
	Ok(())
}
