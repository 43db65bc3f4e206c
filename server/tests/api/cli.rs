//! The command line.

#[test]
fn the_command_line_explains_itself_and_refuses_what_it_does_not_know() {
    let run = |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_bartleby")).args(args).output().unwrap();
    let help = run(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for command in ["serve", "migrate", "db", "storage", "reindex", "backup", "restore", "maintenance"] {
        assert!(text.contains(command), "{command} missing from --help: {text}");
    }
    // the product binary carries only what a user runs: figures and stand-ins have binaries of their own
    for command in ["bench", "double"] {
        assert!(!text.contains(command), "{command} in bartleby --help: {text}");
    }
    let help = run(&["storage", "migrate", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("--dry-run"));
    let wrong = run(&["storage", "migrate", "--to", "ftp"]);
    assert_eq!(wrong.status.code(), Some(2));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("possible values: local, s3, vercel"), "{err}");
    assert_eq!(run(&["no-such-command"]).status.code(), Some(2));
}
