//! The command line: `warren [run]`, `warren demo`, `warren check-config`, `warren healthcheck`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

#[derive(Debug, Parser)]
#[command(
    name = "warren",
    version,
    about = "Kafka consumer-lag exporter with Burrow's evaluation"
)]
struct Cli {
    /// Configuration file (TOML). `WARREN_*` environment variables override it.
    #[arg(short, long, env = "WARREN_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Once the HTTP listener is bound, write its address (`ip:port` and a newline) to this
    /// file, atomically: with `http.listen` on port 0 (`run`) or `--listen` on port 0 (`demo`),
    /// how a supervisor or a test learns the port.
    #[arg(long, global = true, value_name = "PATH")]
    address_file: Option<PathBuf>,
    /// Web-config file (the format of Prometheus's exporters: HTTPS, client certificates, basic
    /// auth); wins over `http.web_config_file`.
    #[arg(long = "web.config.file", global = true, value_name = "PATH")]
    web_config_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Watch the configured clusters and serve /metrics (the default).
    Run,
    /// Start an embedded mock Kafka with demo producers and consumer groups, and watch it.
    Demo {
        /// Address to serve HTTP on.
        #[arg(long, default_value = "127.0.0.1:9753")]
        listen: SocketAddr,
    },
    /// Validate the configuration and print it, secrets masked.
    CheckConfig,
    /// Ask a running warren for /healthz (exit 0 on 200, else 1): a container HEALTHCHECK.
    Healthcheck {
        /// Address to ask; default: `http.listen` from the configuration file and environment
        /// (0.0.0.0:9753 when unusable), a wildcard as loopback.
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Path to ask (`/readyz` for readiness).
        #[arg(long, default_value = "/healthz")]
        path: String,
        /// Basic-auth user, when the web-config file has `basic_auth_users`; its password is
        /// read from WARREN_HEALTHCHECK_PASSWORD only (a command line is visible to all).
        #[arg(long, env = "WARREN_HEALTHCHECK_USERNAME", value_name = "USER")]
        username: Option<String>,
        /// Client certificate (PEM), when the server requires one.
        #[arg(long, env = "WARREN_HEALTHCHECK_CERT_FILE", value_name = "PATH")]
        cert_file: Option<PathBuf>,
        /// The client certificate's key (PEM).
        #[arg(long, env = "WARREN_HEALTHCHECK_KEY_FILE", value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
}

/// Exit status for configuration errors.
const CONFIG_ERROR: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::CheckConfig => match load(cli.config, cli.web_config_file) {
            Ok(config) => {
                print!("{}", config.masked_toml());
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run => {
            let config = match load(cli.config, cli.web_config_file) {
                Ok(c) => c,
                Err(code) => return code,
            };
            init_tracing(&config.log.filter);
            let address_file = cli.address_file;
            runtime(async move {
                let listener = crate::app::bind(config.http.listen).await?;
                crate::app::report_address(&listener, address_file.as_deref())?;
                crate::app::serve(config, listener, crate::app::shutdown_on_signals()).await
            })
        }
        Command::Healthcheck {
            addr,
            path,
            username,
            cert_file,
            key_file,
        } => {
            // Every failure is exit status 1 (Docker reserves 2). Only `http.listen` and
            // `http.web_config_file` are read: the server may run with clusters this process
            // was not given.
            let http = config::probe_settings(cli.config.as_deref());
            let addr = addr.unwrap_or_else(|| crate::healthcheck::probe_address(http.listen));
            let web_config = cli.web_config_file.or(http.web_config_file);
            let credentials = crate::healthcheck::Credentials {
                username,
                password: std::env::var(crate::healthcheck::PASSWORD_VAR).ok(),
                cert_file,
                key_file,
            };
            let probe = crate::healthcheck::Probe::new(addr, web_config.as_deref(), &credentials);
            match probe.and_then(|p| crate::healthcheck::check_with(&p, &path)) {
                Ok(status) => {
                    println!("{status}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Demo { listen } => {
            init_tracing("info,librdkafka=off,rdkafka=off");
            runtime(crate::demo::run(listen, cli.address_file))
        }
    }
}

fn load(file: Option<PathBuf>, web_config_file: Option<PathBuf>) -> Result<Config, ExitCode> {
    config::load_with_web_config(file.as_deref(), web_config_file.as_deref()).map_err(|errors| {
        for e in errors {
            eprintln!("error: {e}");
        }
        ExitCode::from(CONFIG_ERROR)
    })
}

fn init_tracing(filter: &str) {
    crate::logging::init(filter);
}

fn runtime(fut: impl std::future::Future<Output = Result<(), String>>) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
