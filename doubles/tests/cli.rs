//! The stand-ins' command line says what they are not.

#[test]
fn the_stand_ins_say_they_keep_nothing_and_know_no_meaning() {
    let run =
        |args: &[&str]| std::process::Command::new(env!("CARGO_BIN_EXE_bartleby-doubles")).args(args).output().unwrap();
    let help = run(&["vercel-blob", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("Objects live in memory"));
    let help = run(&["openai", "--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("not from a model"));
    assert_eq!(run(&["no-such-service"]).status.code(), Some(2));
}
