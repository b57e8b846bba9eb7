//! Which cores the gateway, the mock upstream and the load generator may
//! run on (`switchyard bench --pin`).
//!
//! Unpinned, the three share every core and the gateway's figures move with
//! what the other two happen to need. Pinned, each gets its own cores, so
//! the gateway's CPU per request and its throughput on N cores can be read
//! on their own. A child inherits the CPU affinity of the thread that starts
//! it, so children are started from a short-lived thread pinned to their
//! cores; the load generator pins the thread that builds its runtime.

use std::fmt;

/// A set of CPU cores, written like `taskset -c`: `0`, `2-3`, `0,4-7`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cores(Vec<usize>);

impl Cores {
    /// The cores, ascending.
    pub fn ids(&self) -> &[usize] {
        &self.0
    }

    fn range(from: usize, to: usize) -> Cores {
        Cores((from..to).collect())
    }
}

impl std::str::FromStr for Cores {
    type Err = String;

    fn from_str(s: &str) -> Result<Cores, String> {
        let mut ids = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let number = |n: &str| {
                n.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{n:?} in {s:?} is not a core number"))
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (number(a)?, number(b)?);
                    if a > b {
                        return Err(format!("{part:?} in {s:?} runs backwards"));
                    }
                    ids.extend(a..=b);
                }
                None => ids.push(number(part)?),
            }
        }
        if ids.is_empty() {
            return Err(format!("{s:?} names no core (e.g. 0, 2-3, 0,4-7)"));
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(Cores(ids))
    }
}

impl fmt::Display for Cores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &c in &self.0 {
            match runs.last_mut() {
                Some((_, end)) if *end + 1 == c => *end = c,
                _ => runs.push((c, c)),
            }
        }
        for (i, (start, end)) in runs.into_iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            if start == end {
                write!(f, "{sep}{start}")?;
            } else {
                write!(f, "{sep}{start}-{end}")?;
            }
        }
        Ok(())
    }
}

/// Where each process of a benchmark runs; `None` is anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pinning {
    /// The gateway under test.
    pub gateway: Option<Cores>,
    /// The mock upstream.
    pub mock: Option<Cores>,
    /// The load generator (this process).
    pub load: Option<Cores>,
}

impl Pinning {
    /// The split `--pin` uses on a machine with `cores` cores: the gateway
    /// gets one core (two from eight cores up, the size of the machine the
    /// targets are set for), the mock and the load generator share what is
    /// left, half each; on two cores they share the second.
    pub fn automatic(cores: usize) -> Result<Pinning, String> {
        let (gateway, mock, load) = match cores {
            0 | 1 => return Err("--pin needs at least two cores".into()),
            2 => (Cores(vec![0]), Cores(vec![1]), Cores(vec![1])),
            3 => (Cores(vec![0]), Cores(vec![1]), Cores(vec![2])),
            n => {
                let gateway = if n >= 8 { 2 } else { 1 };
                let mock = (n - gateway) / 2;
                (
                    Cores::range(0, gateway),
                    Cores::range(gateway, gateway + mock),
                    Cores::range(gateway + mock, n),
                )
            }
        };
        Ok(Pinning {
            gateway: Some(gateway),
            mock: Some(mock),
            load: Some(load),
        })
    }

    /// `--pin` (the automatic split) with any of `--gateway-cores`,
    /// `--mock-cores` and `--load-cores` laid over it; without `--pin`,
    /// only the processes named are pinned.
    pub fn chosen(
        pin: bool,
        gateway: Option<&Cores>,
        mock: Option<&Cores>,
        load: Option<&Cores>,
        cores: usize,
    ) -> Result<Pinning, String> {
        let base = if pin {
            Pinning::automatic(cores)?
        } else {
            Pinning::default()
        };
        let chosen = Pinning {
            gateway: gateway.cloned().or(base.gateway),
            mock: mock.cloned().or(base.mock),
            load: load.cloned().or(base.load),
        };
        for c in [&chosen.gateway, &chosen.mock, &chosen.load]
            .into_iter()
            .flatten()
        {
            if let Some(&beyond) = c.ids().iter().find(|&&id| id >= cores) {
                return Err(format!(
                    "core {beyond} does not exist here ({cores} cores: 0-{})",
                    cores - 1
                ));
            }
        }
        Ok(chosen)
    }

    /// How the processes are placed, e.g. `gateway 0, mock 1, load 1`;
    /// `None` when nothing is pinned.
    pub fn describe(&self) -> Option<String> {
        let parts: Vec<String> = [
            ("gateway", &self.gateway),
            ("mock", &self.mock),
            ("load", &self.load),
        ]
        .into_iter()
        .filter_map(|(what, c)| c.as_ref().map(|c| format!("{what} {c}")))
        .collect();
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Restrict the calling thread (and every thread or process it starts from
/// now on) to `cores`.
#[cfg(target_os = "linux")]
pub fn pin_this_thread(cores: &Cores) -> Result<(), String> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    for &c in cores.ids() {
        set.set(c)
            .map_err(|_| format!("core {c} is beyond what this system can pin"))?;
    }
    sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
        .map_err(|e| format!("cannot pin to cores {cores}: {e}"))
}

/// Pinning needs Linux.
#[cfg(not(target_os = "linux"))]
pub fn pin_this_thread(_cores: &Cores) -> Result<(), String> {
    Err("--pin needs Linux".into())
}

/// Start `command` on `cores` (from a thread pinned to them, whose
/// affinity the child inherits), or unpinned when `cores` is `None`.
pub fn spawn_on(
    mut command: std::process::Command,
    cores: Option<&Cores>,
) -> Result<std::process::Child, String> {
    let Some(cores) = cores.cloned() else {
        return command.spawn().map_err(|e| e.to_string());
    };
    std::thread::spawn(move || {
        pin_this_thread(&cores)?;
        command.spawn().map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the thread starting a pinned child failed".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lists_read_like_taskset() {
        let c: Cores = "4-6, 0,2".parse().unwrap();
        assert_eq!(c.ids(), &[0, 2, 4, 5, 6]);
        assert_eq!(c.to_string(), "0,2,4-6");
        assert_eq!("3".parse::<Cores>().unwrap().to_string(), "3");
        assert!("".parse::<Cores>().is_err());
        assert!("3-1".parse::<Cores>().is_err());
        assert!("a".parse::<Cores>().is_err());
    }

    #[test]
    fn the_automatic_split_keeps_the_gateway_apart() {
        let at = |n| Pinning::automatic(n).unwrap().describe().unwrap();
        assert_eq!(at(2), "gateway 0, mock 1, load 1");
        assert_eq!(at(4), "gateway 0, mock 1, load 2-3");
        assert_eq!(at(16), "gateway 0-1, mock 2-8, load 9-15");
        assert!(Pinning::automatic(1).is_err());
    }

    #[test]
    fn named_cores_override_the_split_and_must_exist() {
        let one: Cores = "3".parse().unwrap();
        let p = Pinning::chosen(true, Some(&one), None, None, 4).unwrap();
        assert_eq!(p.describe().unwrap(), "gateway 3, mock 1, load 2-3");
        let p = Pinning::chosen(false, None, Some(&one), None, 4).unwrap();
        assert_eq!(p.describe().unwrap(), "mock 3");
        assert_eq!(
            Pinning::chosen(false, None, None, None, 2)
                .unwrap()
                .describe(),
            None
        );
        let err = Pinning::chosen(false, Some(&one), None, None, 2).unwrap_err();
        assert!(err.contains("core 3 does not exist"), "{err}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_started_on_a_core_runs_there() {
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "grep Cpus_allowed_list /proc/self/status"])
            .stdout(std::process::Stdio::piped());
        let child = spawn_on(cmd, Some(&"0".parse().unwrap())).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.trim().ends_with("\t0"), "{text}");
    }
}
