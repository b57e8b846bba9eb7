//! `switchyard env` and `switchyard claude`: Claude Code pointed at the
//! gateway. `env` prints the lines a shell needs (bash, zsh or fish) to
//! send Claude Code through the gateway; `claude [ARGS…]` runs Claude Code
//! with them, like `ccr code`. The gateway's address comes from the config
//! (`listen`, a wildcard address read as loopback) or `--url`; the key from
//! `--key` / `$SWITCHYARD_KEY`, else the config's master key. The
//! developer's own Anthropic key is taken out of Claude Code's environment:
//! it would be sent to the gateway in place of the gateway's key.

use super::{ConfigArgs, load_config};
use crate::config::AuthConfig;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

/// Which gateway, with which key.
#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Config source (for the listen address and master key).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The gateway's URL (default: http:// and the config's listen address).
    #[arg(long)]
    pub url: Option<String>,
    /// The key Claude Code presents (default: $SWITCHYARD_KEY, else the
    /// config's master key).
    #[arg(long, env = "SWITCHYARD_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// A shell's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    /// `export NAME='value'`.
    Bash,
    /// The same as bash.
    Zsh,
    /// `set -gx NAME 'value'`.
    Fish,
}

/// `switchyard env` options.
#[derive(Debug, clap::Args)]
pub struct EnvArgs {
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The shell (default: from $SHELL, else bash).
    #[arg(long, value_enum)]
    pub shell: Option<Shell>,
}

/// `switchyard claude` options.
#[derive(Debug, clap::Args)]
pub struct ClaudeArgs {
    /// The gateway.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    /// The Claude Code executable (default: `claude` on PATH).
    #[arg(long, env = "CLAUDE_BIN")]
    pub claude: Option<PathBuf>,
    /// Arguments for Claude Code (after `--` when they could be read as
    /// switchyard's own).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// Where Claude Code is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Base URL.
    pub url: String,
    /// The key it presents, if the gateway wants one.
    pub key: Option<String>,
}

/// The gateway to point at: from the flags, else the config.
pub fn target(args: &GatewayArgs) -> Target {
    let config = load_config(&args.config).ok();
    let url = args.url.clone().unwrap_or_else(|| {
        let listen = config.as_ref().map_or_else(
            || std::net::SocketAddr::from(([127, 0, 0, 1], 4000)),
            |c| c.listen,
        );
        let host = match listen.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        format!("http://{host}:{}", listen.port())
    });
    let key = args.key.clone().or_else(|| match config.map(|c| c.auth) {
        Some(AuthConfig::MasterKey(k)) => Some(k.expose_secret().to_string()),
        _ => None,
    });
    Target {
        url: url.trim_end_matches('/').to_string(),
        key,
    }
}

/// The variables Claude Code needs: (name, value); `None` unsets it.
fn variables(t: &Target) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("ANTHROPIC_BASE_URL", Some(t.url.clone())),
        // Claude Code needs some credential; a gateway without auth takes any.
        (
            "ANTHROPIC_AUTH_TOKEN",
            Some(t.key.clone().unwrap_or_else(|| "switchyard".into())),
        ),
        ("ANTHROPIC_API_KEY", None),
    ]
}

fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The lines for `shell`.
pub fn env_lines(t: &Target, shell: Shell) -> String {
    variables(t)
        .into_iter()
        .map(|(name, value)| match (shell, value) {
            (Shell::Fish, Some(v)) => format!("set -gx {name} {}\n", quoted(&v)),
            (Shell::Fish, None) => format!("set -e {name}\n"),
            (_, Some(v)) => format!("export {name}={}\n", quoted(&v)),
            (_, None) => format!("unset {name}\n"),
        })
        .collect()
}

fn shell_of_env() -> Shell {
    let shell = std::env::var("SHELL").unwrap_or_default();
    match shell.rsplit('/').next() {
        Some("fish") => Shell::Fish,
        Some("zsh") => Shell::Zsh,
        _ => Shell::Bash,
    }
}

/// `switchyard env`.
pub fn env(args: &EnvArgs) -> ExitCode {
    let t = target(&args.gateway);
    let shell = args.shell.unwrap_or_else(shell_of_env);
    if t.key.is_none() {
        eprintln!(
            "# no key given (--key, $SWITCHYARD_KEY) and the config has no master key: any token is sent"
        );
    }
    print!("{}", env_lines(&t, shell));
    ExitCode::SUCCESS
}

/// Claude Code `claude` with `args`, its environment pointed at `t`.
pub fn command(t: &Target, claude: PathBuf, args: &[String]) -> Command {
    let mut cmd = Command::new(claude);
    cmd.args(args);
    for (name, value) in variables(t) {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    cmd
}

/// Whether something listens at the URL's host and port.
fn answers(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let port = uri.port_u16().unwrap_or(80);
    let host = uri.host().unwrap_or("127.0.0.1").trim_matches(['[', ']']);
    let Ok(addrs) = std::net::ToSocketAddrs::to_socket_addrs(&(host, port)) else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

/// `switchyard claude`.
pub fn claude(args: &ClaudeArgs) -> ExitCode {
    let t = target(&args.gateway);
    if !answers(&t.url) {
        eprintln!(
            "switchyard claude: no gateway answers at {}; start one with `switchyard serve` (or give --url)",
            t.url
        );
        return ExitCode::FAILURE;
    }
    let exe = args
        .claude
        .clone()
        .unwrap_or_else(|| PathBuf::from("claude"));
    let mut cmd = command(&t, exe.clone(), &args.args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        eprintln!(
            "switchyard claude: cannot run {}: {e} (install Claude Code: npm install -g @anthropic-ai/claude-code, or give --claude)",
            exe.display()
        );
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    match cmd.status() {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("switchyard claude: cannot run {}: {e}", exe.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(key: Option<&str>) -> Target {
        Target {
            url: "http://127.0.0.1:4000".into(),
            key: key.map(str::to_string),
        }
    }

    #[test]
    fn lines_for_each_shell() {
        assert_eq!(
            env_lines(&t(Some("sk-sy-it's")), Shell::Bash),
            "export ANTHROPIC_BASE_URL='http://127.0.0.1:4000'\n\
             export ANTHROPIC_AUTH_TOKEN='sk-sy-it'\\''s'\nunset ANTHROPIC_API_KEY\n"
        );
        assert_eq!(
            env_lines(&t(None), Shell::Fish),
            "set -gx ANTHROPIC_BASE_URL 'http://127.0.0.1:4000'\n\
             set -gx ANTHROPIC_AUTH_TOKEN 'switchyard'\nset -e ANTHROPIC_API_KEY\n"
        );
        assert_eq!(
            env_lines(&t(None), Shell::Zsh),
            env_lines(&t(None), Shell::Bash)
        );
    }

    #[test]
    fn the_gateway_comes_from_the_config_or_the_flags() {
        let dir = std::env::temp_dir().join(format!("switchyard-env-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("switchyard.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:4123\"\nmaster_key = \"sk-a-long-enough-master-key-000\"\n\
             [providers.o]\nkind = \"ollama\"\n[models.m]\nprovider = \"o\"\n",
        )
        .unwrap();
        let args = |url: Option<&str>, key: Option<&str>| GatewayArgs {
            config: ConfigArgs {
                config: Some(file.clone()),
            },
            url: url.map(str::to_string),
            key: key.map(str::to_string),
        };
        assert_eq!(
            target(&args(None, None)),
            Target {
                url: "http://127.0.0.1:4123".into(),
                key: Some("sk-a-long-enough-master-key-000".into())
            },
            "a wildcard listen address is reached on loopback"
        );
        assert_eq!(
            target(&args(Some("http://gw.internal:8080/"), Some("sk-sy-dev"))),
            Target {
                url: "http://gw.internal:8080".into(),
                key: Some("sk-sy-dev".into())
            }
        );
    }

    #[test]
    fn claude_runs_with_the_gateways_environment_and_its_own_arguments() {
        let cmd = command(
            &t(Some("sk-sy-dev")),
            PathBuf::from("/opt/claude"),
            &["-p".into(), "hello".into()],
        );
        assert_eq!(cmd.get_program(), "/opt/claude");
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["-p", "hello"]);
        let envs: Vec<_> = cmd.get_envs().collect();
        assert!(envs.contains(&(
            std::ffi::OsStr::new("ANTHROPIC_AUTH_TOKEN"),
            Some(std::ffi::OsStr::new("sk-sy-dev"))
        )));
        assert!(envs.contains(&(std::ffi::OsStr::new("ANTHROPIC_API_KEY"), None)));
    }
}
