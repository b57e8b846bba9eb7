//! Adoption: what takes a team from nothing, or from LiteLLM, to a working
//! switchyard config — `init` (detect what this machine offers and write a
//! commented config) and `import litellm` (carry a LiteLLM proxy config
//! over, naming what cannot be).

pub mod init;
pub mod litellm;
pub mod litellm_render;
mod litellm_settings;
#[cfg(test)]
mod litellm_tests;

use crate::config::{self, ConfigErrors, ConfigSource, Secrets};
use std::path::Path;

/// Check a config text the way `serve` would read it, the environment
/// aside: variables that are unset here are listed, not errors.
pub fn validate(text: &str, path: &Path) -> Result<Vec<String>, ConfigErrors> {
    let env = |name: &str| std::env::var(name).ok();
    match config::load_str_with(
        text,
        ConfigSource::File(path.to_path_buf()),
        &env,
        Secrets::Needed,
    ) {
        Ok(_) => Ok(Vec::new()),
        Err(ConfigErrors(errors)) => {
            let (unset, real): (Vec<_>, Vec<_>) = errors
                .into_iter()
                .partition(|e| e.message.starts_with("environment variable "));
            // A value left as `${VAR}` fails its own check too: not a problem
            // of the file.
            let real: Vec<_> = real
                .into_iter()
                .filter(|e| !unset.iter().any(|u| u.path == e.path))
                .collect();
            if real.is_empty() {
                let mut vars: Vec<String> = unset
                    .iter()
                    .filter_map(|e| e.message.split(' ').nth(2).map(str::to_string))
                    .collect();
                vars.dedup();
                Ok(vars)
            } else {
                Err(ConfigErrors(real))
            }
        }
    }
}
