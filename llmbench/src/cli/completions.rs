//! `llmbench completions SHELL`: a completion script for the `llmbench`
//! command, generated from the same clap definition that parses it, so it
//! knows every subcommand and flag of this version.

use clap::Args;
use clap_complete::Shell;

use crate::exit_code;

const EXAMPLES: &str = "Examples:
  llmbench completions bash > ~/.local/share/bash-completion/completions/llmbench
  llmbench completions zsh > \"${fpath[1]}/_llmbench\"
  llmbench completions fish > ~/.config/fish/completions/llmbench.fish

The script completes the `llmbench` command; `cargo llmbench` is completed by cargo's own script.";

/// `llmbench completions bash|zsh|fish|elvish|powershell`.
#[derive(Debug, Args)]
#[command(
    after_help = EXAMPLES
)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: Shell,
}

/// Prints the script on stdout.
pub(crate) fn run(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut cmd = super::command("llmbench");
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "llmbench", &mut script);
    crate::term::print(&String::from_utf8_lossy(&script));
    Ok(exit_code::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_the_subcommands_and_their_flags() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut super::super::command("llmbench"), "llmbench", &mut script);
            let script = String::from_utf8(script).unwrap();
            for word in ["run", "init", "compare", "sim", "completions", "url", "input-tokens", "save-baseline"] {
                assert!(script.contains(word), "{shell}: no {word}");
            }
        }
    }
}
