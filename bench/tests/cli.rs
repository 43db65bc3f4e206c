//! The figure commands explain themselves.

#[test]
fn every_figure_command_is_listed() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_bartleby-bench")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["documents", "inventory", "retrieval"] {
        assert!(text.contains(command), "{command} missing from --help: {text}");
    }
}
