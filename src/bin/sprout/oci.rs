//! An OCI runtime-spec `process` object (what `runc exec --process FILE` reads) → a `Spec`.
//!
//! A pure function of the JSON text and a few facts about the host, so it is tested without
//! root or a container. Read as runc reads it: Go's encoding/json, which matches object keys
//! case-insensitively, takes `null` as absent, ignores keys it does not know (sprout warns
//! about them) and refuses a number where a string is due. Every field that sprout cannot
//! honour is refused naming the field, never dropped. Where runc and crun are lenient for
//! compatibility, so is sprout, with a warning: ambient capabilities outside permitted ∩
//! inheritable are dropped (`runc spec`'s own default process has such ones) and so are
//! capability names the kernel does not know.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use sprout::names::{capability_number, resource_number};
use sprout::{Capabilities, Credentials, Rlimit, Spec};

use crate::status::{Outcome, refuse};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub terminal: Option<bool>,
    pub console_size: Option<ConsoleSize>,
    pub user: Option<User>,
    pub args: Option<Vec<String>>,
    pub command_line: Option<String>,
    pub env: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub capabilities: Option<CapabilitySets>,
    pub rlimits: Option<Vec<OciRlimit>>,
    pub no_new_privileges: Option<bool>,
    pub apparmor_profile: Option<String>,
    pub oom_score_adj: Option<i32>,
    pub scheduler: Option<OciScheduler>,
    pub selinux_label: Option<String>,
    pub io_priority: Option<OciIoPriority>,
    #[serde(rename = "execCPUAffinity")]
    pub exec_cpu_affinity: Option<OciCpuAffinity>,
    /// Keys runc does not know either: ignored, with a warning.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConsoleSize {
    pub height: u32,
    pub width: u32,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub umask: Option<u32>,
    pub additional_gids: Option<Vec<u32>>,
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CapabilitySets {
    pub bounding: Option<Vec<String>>,
    pub effective: Option<Vec<String>>,
    pub inheritable: Option<Vec<String>>,
    pub permitted: Option<Vec<String>>,
    pub ambient: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct OciRlimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub hard: u64,
    pub soft: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct OciScheduler {
    pub policy: String,
    pub nice: Option<i32>,
    pub priority: Option<i32>,
    pub flags: Option<Vec<String>>,
    pub runtime: Option<u64>,
    pub deadline: Option<u64>,
    pub period: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OciIoPriority {
    pub class: String,
    pub priority: Option<i32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OciCpuAffinity {
    pub initial: Option<String>,
    #[serde(rename = "final")]
    pub last: Option<String>,
}

/// What the host offers that the mapping depends on.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    pub last_capability: u32,
    pub apparmor: bool,
    pub selinux: bool,
}

impl Host {
    pub fn this_one() -> Host {
        let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|text| text.trim() == "Y");
        Host {
            last_capability: sprout::names::last_capability(),
            apparmor,
            selinux: std::path::Path::new("/sys/fs/selinux/enforce").exists(),
        }
    }
}

/// The process object as a spec, plus what the CLI does itself.
#[derive(Debug)]
pub struct Mapped {
    pub spec: Spec,
    /// `terminal: true`: allocate a pseudo-terminal, of `consoleSize` when given.
    pub terminal: bool,
    pub console_size: Option<(u16, u16)>,
    /// Whether the object has `rlimits` (`sprout exec` otherwise takes the target's).
    pub sets_rlimits: bool,
    pub warnings: Vec<String>,
}

/// Parses the JSON text of a process object.
pub fn parse(text: &str) -> Outcome<Process> {
    let mut value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => return refuse(format!("--process: not JSON: {error}")),
    };
    if !value.is_object() {
        return refuse("--process: want a JSON object (an OCI `process`)");
    }
    fold_keys(&mut value, &SHAPE);
    serde_json::from_value(value).or_else(|error| refuse(format!("--process: {error}")))
}

/// Go's encoding/json matches keys case-insensitively: rename each key that matches a known
/// field in another case to the field's spelling, as runc would read it.
struct Shape {
    fields: &'static [(&'static str, Option<&'static Shape>)],
}

const SHAPE: Shape = Shape {
    fields: &[
        ("terminal", None),
        (
            "consoleSize",
            Some(&Shape {
                fields: &[("height", None), ("width", None)],
            }),
        ),
        (
            "user",
            Some(&Shape {
                fields: &[
                    ("uid", None),
                    ("gid", None),
                    ("umask", None),
                    ("additionalGids", None),
                    ("username", None),
                ],
            }),
        ),
        ("args", None),
        ("commandLine", None),
        ("env", None),
        ("cwd", None),
        (
            "capabilities",
            Some(&Shape {
                fields: &[
                    ("bounding", None),
                    ("effective", None),
                    ("inheritable", None),
                    ("permitted", None),
                    ("ambient", None),
                ],
            }),
        ),
        ("rlimits", None),
        ("noNewPrivileges", None),
        ("apparmorProfile", None),
        ("oomScoreAdj", None),
        ("scheduler", None),
        ("selinuxLabel", None),
        ("ioPriority", None),
        ("execCPUAffinity", None),
    ],
};

fn fold_keys(value: &mut Value, shape: &Shape) {
    let Value::Object(map) = value else {
        return;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        let Some((name, inner)) = shape
            .fields
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&key))
        else {
            continue;
        };
        let mut field = map.remove(&key).expect("a key just listed");
        if let Some(inner) = inner {
            fold_keys(&mut field, inner);
        }
        // Two spellings of one key: Go keeps the last one in the text; serde_json's map is
        // sorted, so this keeps one of them. Such a file is wrong either way.
        map.insert((*name).to_owned(), field);
    }
    if let Some(Value::Array(limits)) = map.get_mut("rlimits") {
        let limit = Shape {
            fields: &[("type", None), ("hard", None), ("soft", None)],
        };
        for entry in limits {
            fold_keys(entry, &limit);
        }
    }
}

/// Maps the object onto a spec, refusing what cannot be honoured, as runc's
/// `validateProcessSpec` and its reading of each field do.
pub fn to_spec(process: &Process, host: Host) -> Outcome<Mapped> {
    let mut warnings = Vec::new();
    for key in process.unknown.keys() {
        warnings.push(format!(
            "--process: ignoring unknown field {key:?} (runc ignores it too)"
        ));
    }
    let args = match &process.args {
        Some(args) if !args.is_empty() => args,
        _ => return refuse("--process: args must not be empty"),
    };
    if process.command_line.is_some() {
        return refuse("--process: commandLine is for Windows; give args");
    }
    let mut spec =
        Spec::from_strs(args).or_else(|e| refuse(format!("--process: {}", e.subject)))?;
    match process.cwd.as_deref() {
        None | Some("") => return refuse("--process: cwd must not be empty"),
        Some(cwd) if !cwd.starts_with('/') => {
            return refuse(format!("--process: cwd {cwd:?} must be an absolute path"));
        }
        Some(cwd) => spec.working_directory = cstring(cwd, "cwd")?,
    }
    for (index, entry) in process.env.iter().flatten().enumerate() {
        spec.env.push(cstring(entry, &format!("env[{index}]"))?);
    }

    let user = process.user.as_ref();
    if user
        .and_then(|u| u.username.as_deref())
        .is_some_and(|n| !n.is_empty())
    {
        return refuse("--process: user.username is for Windows; give user.uid and user.gid");
    }
    spec.credentials = Some(Credentials {
        uid: user.and_then(|u| u.uid).unwrap_or(0),
        gid: user.and_then(|u| u.gid).unwrap_or(0),
        groups: user
            .and_then(|u| u.additional_gids.clone())
            .unwrap_or_default(),
    });
    if let Some(mask) = user.and_then(|u| u.umask) {
        if mask > 0o777 {
            return refuse(format!("--process: user.umask {mask} is above 0777"));
        }
        spec.umask = mask;
    }

    if let Some(sets) = &process.capabilities {
        spec.capabilities = Some(capabilities(sets, host, &mut warnings)?);
    }
    for (index, limit) in process.rlimits.iter().flatten().enumerate() {
        let Some(resource) = resource_number(&limit.kind)
            .filter(|_| limit.kind.len() > 7 && limit.kind[..7].eq_ignore_ascii_case("RLIMIT_"))
        else {
            return refuse(format!(
                "--process: rlimits[{index}].type {:?} is not an RLIMIT_* name",
                limit.kind
            ));
        };
        spec.rlimits.push(Rlimit {
            resource,
            soft: limit.soft,
            hard: limit.hard,
        });
    }
    spec.no_new_privs = process.no_new_privileges.unwrap_or(false);

    if let Some(profile) = process
        .apparmor_profile
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        return refuse(if host.apparmor {
            format!("--process: apparmorProfile {profile:?}: sprout cannot apply AppArmor profiles")
        } else {
            format!("--process: apparmorProfile {profile:?}: this host has no AppArmor")
        });
    }
    if let Some(label) = process.selinux_label.as_deref().filter(|l| !l.is_empty()) {
        return refuse(if host.selinux {
            format!("--process: selinuxLabel {label:?}: sprout cannot apply SELinux labels")
        } else {
            format!("--process: selinuxLabel {label:?}: this host has no SELinux")
        });
    }
    spec.oom_score_adj = process.oom_score_adj;
    if let Some(scheduler) = &process.scheduler {
        spec.scheduler = Some(oci_scheduler(scheduler)?);
    }
    if let Some(io) = &process.io_priority {
        let class = crate::attrs::io_class(&io.class)
            .or_else(|_| refuse(format!("--process: ioPriority.class {:?}", io.class)))?;
        let level = io.priority.unwrap_or(0);
        spec.io_priority = Some(sprout::spec::IoPriority {
            class,
            level: u32::try_from(level)
                .or_else(|_| refuse(format!("--process: ioPriority.priority {level}")))?,
        });
    }
    if let Some(affinity) = &process.exec_cpu_affinity {
        // `final` is where the process runs once in the container's cgroup, which sprout's
        // process is from its first instruction: `initial` has no moment of its own here.
        if let Some(list) = affinity.last.as_deref().or(affinity.initial.as_deref()) {
            spec.cpu_affinity = crate::attrs::cpus(list)
                .or_else(|_| refuse(format!("--process: execCPUAffinity {list:?}")))?;
        }
    }

    let console_size = match &process.console_size {
        None => None,
        Some(size) => Some((
            u16::try_from(size.height).or_else(|_| refuse("--process: consoleSize.height"))?,
            u16::try_from(size.width).or_else(|_| refuse("--process: consoleSize.width"))?,
        )),
    };
    Ok(Mapped {
        spec,
        terminal: process.terminal.unwrap_or(false),
        console_size,
        sets_rlimits: process.rlimits.as_ref().is_some_and(|l| !l.is_empty()),
        warnings,
    })
}

/// The OCI `scheduler` object: policy and flags by their kernel names.
fn oci_scheduler(oci: &OciScheduler) -> Outcome<sprout::spec::Scheduler> {
    let policy = crate::attrs::policy(&oci.policy)
        .or_else(|_| refuse(format!("--process: scheduler.policy {:?}", oci.policy)))?;
    let mut flags = 0u64;
    for name in oci.flags.iter().flatten() {
        flags |= match name.as_str() {
            "SCHED_FLAG_RESET_ON_FORK" => 0x01,
            "SCHED_FLAG_RECLAIM" => 0x02,
            "SCHED_FLAG_DL_OVERRUN" => 0x04,
            "SCHED_FLAG_KEEP_POLICY" => 0x08,
            "SCHED_FLAG_KEEP_PARAMS" => 0x10,
            "SCHED_FLAG_UTIL_CLAMP_MIN" => 0x20,
            "SCHED_FLAG_UTIL_CLAMP_MAX" => 0x40,
            other => return refuse(format!("--process: scheduler.flags: unknown {other:?}")),
        };
    }
    let priority = oci.priority.unwrap_or(0);
    Ok(sprout::spec::Scheduler {
        policy,
        nice: oci.nice.unwrap_or(0),
        priority: u32::try_from(priority)
            .or_else(|_| refuse(format!("--process: scheduler.priority {priority}")))?,
        flags,
        runtime: oci.runtime.unwrap_or(0),
        deadline: oci.deadline.unwrap_or(0),
        period: oci.period.unwrap_or(0),
    })
}

fn cstring(text: &str, field: &str) -> Outcome<std::ffi::CString> {
    std::ffi::CString::new(text)
        .or_else(|_| refuse(format!("--process: {field} {text:?} holds a NUL byte")))
}

/// The five sets by name. As runc: a name the kernel does not know is dropped with a warning,
/// and so is an ambient capability outside permitted ∩ inheritable.
fn capabilities(
    sets: &CapabilitySets,
    host: Host,
    warnings: &mut Vec<String>,
) -> Outcome<Capabilities> {
    let mut set = |field: &str, names: &Option<Vec<String>>| {
        let mut bits = 0u64;
        for name in names.iter().flatten() {
            match capability_number(name).filter(|bit| *bit <= host.last_capability) {
                Some(bit) => bits |= 1 << bit,
                None => warnings.push(format!(
                    "--process: capabilities.{field}: ignoring unknown or unavailable \
                     capability {name:?} (as runc does)"
                )),
            }
        }
        bits
    };
    let mut caps = Capabilities {
        bounding: set("bounding", &sets.bounding),
        effective: set("effective", &sets.effective),
        permitted: set("permitted", &sets.permitted),
        inheritable: set("inheritable", &sets.inheritable),
        ambient: set("ambient", &sets.ambient),
    };
    let dropped = caps.ambient & !(caps.permitted & caps.inheritable);
    if dropped != 0 {
        let names: Vec<String> = (0..64)
            .filter(|bit| dropped & (1 << bit) != 0)
            .map(|bit| {
                sprout::names::capability_name(bit).map_or_else(|| bit.to_string(), str::to_owned)
            })
            .collect();
        warnings.push(format!(
            "--process: capabilities.ambient: dropping {} (not in both permitted and \
             inheritable, as runc and crun drop them)",
            names.join(", ")
        ));
        caps.ambient &= caps.permitted & caps.inheritable;
    }
    if caps.effective & !caps.permitted != 0 {
        // runc passes such sets to capset, which refuses them: say so before anything runs.
        return refuse(
            "--process: capabilities.effective holds capabilities that are not in permitted",
        );
    }
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: Host = Host {
        last_capability: 40,
        apparmor: false,
        selinux: false,
    };

    fn map(json: &str) -> Outcome<Mapped> {
        to_spec(&parse(json)?, HOST)
    }

    fn refused(json: &str) -> String {
        map(json).unwrap_err().to_string()
    }

    /// The process object `runc spec` writes (runc 1.1).
    const RUNC_SPEC_DEFAULT: &str = r#"{
        "terminal": true,
        "user": {"uid": 0, "gid": 0},
        "args": ["sh"],
        "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
        "cwd": "/",
        "capabilities": {
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
        },
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
        "noNewPrivileges": true
    }"#;

    #[test]
    fn runc_specs_default_process_maps_with_its_ambient_set_dropped() {
        let mapped = map(RUNC_SPEC_DEFAULT).unwrap();
        let spec = &mapped.spec;
        assert_eq!(spec.argv, [c"sh".to_owned()]);
        assert_eq!(spec.env.len(), 2);
        assert_eq!(spec.working_directory, c"/".to_owned());
        assert_eq!(
            spec.credentials,
            Some(Credentials {
                uid: 0,
                gid: 0,
                groups: vec![]
            })
        );
        let three = 1 << 29 | 1 << 5 | 1 << 10;
        let caps = spec.capabilities.unwrap();
        assert_eq!(
            (caps.bounding, caps.effective, caps.permitted),
            (three, three, three)
        );
        assert_eq!((caps.inheritable, caps.ambient), (0, 0));
        assert!(
            mapped.warnings[0].contains("dropping CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE")
        );
        assert_eq!(
            spec.rlimits,
            [Rlimit {
                resource: 7,
                soft: 1024,
                hard: 1024
            }]
        );
        assert!(spec.no_new_privs && mapped.terminal && mapped.sets_rlimits);
        assert_eq!(spec.umask, 0o022);
    }

    #[test]
    fn user_groups_umask_and_console_size() {
        let mapped = map(
            r#"{"args":["id"],"cwd":"/tmp","user":{"uid":1000,"gid":100,"umask":63,
                "additionalGids":[5,6]},"consoleSize":{"height":40,"width":120},
                "terminal":false}"#,
        )
        .unwrap();
        let creds = mapped.spec.credentials.unwrap();
        assert_eq!(
            (creds.uid, creds.gid, creds.groups),
            (1000, 100, vec![5, 6])
        );
        assert_eq!(mapped.spec.umask, 0o77);
        assert_eq!(mapped.console_size, Some((40, 120)));
        assert!(!mapped.terminal && !mapped.sets_rlimits && !mapped.spec.no_new_privs);
        assert!(mapped.spec.capabilities.is_none());
    }

    #[test]
    fn keys_match_in_any_case_as_go_reads_them_and_unknown_ones_are_warned_about() {
        let mapped = map(r#"{"ARGS":["true"],"Cwd":"/","NoNewPrivileges":true,
                "User":{"UID":7,"Gid":8},"Rlimits":[{"TYPE":"RLIMIT_CORE","Hard":0,"soft":0}],
                "someday":1}"#)
        .unwrap();
        assert!(mapped.spec.no_new_privs);
        assert_eq!(mapped.spec.credentials.as_ref().unwrap().uid, 7);
        assert_eq!(mapped.spec.rlimits[0].resource, 4);
        assert_eq!(mapped.warnings.len(), 1);
        assert!(mapped.warnings[0].contains("\"someday\""));
    }

    #[test]
    fn what_runc_refuses_is_refused_naming_the_field() {
        assert!(refused(r#"{"cwd":"/"}"#).contains("args must not be empty"));
        assert!(refused(r#"{"args":[],"cwd":"/"}"#).contains("args must not be empty"));
        assert!(refused(r#"{"args":["x"]}"#).contains("cwd must not be empty"));
        assert!(refused(r#"{"args":["x"],"cwd":"tmp"}"#).contains("absolute"));
        assert!(
            refused(r#"{"args":["x"],"cwd":"/","rlimits":[{"type":"NOFILE","hard":1,"soft":1}]}"#)
                .contains("rlimits[0].type \"NOFILE\"")
        );
        assert!(refused(r#"{"args":["x"],"cwd":"/","user":{"uid":-1}}"#).contains("--process:"));
        assert!(refused(r#"{"args":["x"],"cwd":"/","env":"A=1"}"#).contains("--process:"));
        assert!(refused("[1]").contains("JSON object"));
        assert!(refused("{").contains("not JSON"));
    }

    #[test]
    fn fields_sprout_cannot_honour_are_refused_not_dropped() {
        let with = |field: &str| refused(&format!(r#"{{"args":["x"],"cwd":"/",{field}}}"#));
        assert!(
            with(r#""apparmorProfile":"p""#)
                .contains("apparmorProfile \"p\": this host has no AppArmor")
        );
        assert!(
            with(r#""selinuxLabel":"l""#).contains("selinuxLabel \"l\": this host has no SELinux")
        );
        assert!(with(r#""commandLine":"x""#).contains("commandLine"));
        assert!(with(r#""user":{"username":"x"}"#).contains("user.username"));
        // An empty profile is runc's "none".
        map(r#"{"args":["x"],"cwd":"/","apparmorProfile":""}"#).unwrap();
        let apparmor = Host {
            apparmor: true,
            ..HOST
        };
        let err = to_spec(
            &parse(r#"{"args":["x"],"cwd":"/","apparmorProfile":"p"}"#).unwrap(),
            apparmor,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cannot apply AppArmor"));
    }

    #[test]
    fn scheduling_fields_map_onto_the_spec() {
        let mapped = map(r#"{"args":["x"],"cwd":"/","oomScoreAdj":-500,
                "scheduler":{"policy":"SCHED_DEADLINE","runtime":1000000,"deadline":2000000,
                  "period":4000000,"flags":["SCHED_FLAG_RESET_ON_FORK"]},
                "ioPriority":{"class":"IOPRIO_CLASS_BE","priority":6},
                "execCPUAffinity":{"initial":"0","final":"0-1"}}"#)
        .unwrap();
        let spec = mapped.spec;
        assert_eq!(spec.oom_score_adj, Some(-500));
        let s = spec.scheduler.unwrap();
        assert_eq!(
            (s.policy, s.runtime, s.deadline, s.period, s.flags),
            (6, 1000000, 2000000, 4000000, 1)
        );
        let io = spec.io_priority.unwrap();
        assert_eq!((io.class, io.level), (2, 6));
        assert_eq!(spec.cpu_affinity, [0b11]);
        assert!(
            refused(r#"{"args":["x"],"cwd":"/","scheduler":{"policy":"SCHED_FAST"}}"#)
                .contains("scheduler.policy")
        );
        assert!(
            refused(r#"{"args":["x"],"cwd":"/","ioPriority":{"class":"NOPE"}}"#)
                .contains("ioPriority.class")
        );
    }

    #[test]
    fn unknown_capabilities_are_dropped_with_a_warning_and_impossible_sets_refused() {
        let mapped = map(
            r#"{"args":["x"],"cwd":"/","capabilities":{"bounding":["CAP_CHOWN","CAP_FUTURE"],
                "permitted":["CAP_CHOWN"],"inheritable":["CAP_CHOWN"],"ambient":["CAP_CHOWN"]}}"#,
        )
        .unwrap();
        let caps = mapped.spec.capabilities.unwrap();
        assert_eq!((caps.bounding, caps.ambient, caps.effective), (1, 1, 0));
        assert!(mapped.warnings[0].contains("CAP_FUTURE"));
        assert!(
            refused(r#"{"args":["x"],"cwd":"/","capabilities":{"effective":["CAP_KILL"]}}"#)
                .contains("capabilities.effective")
        );
    }
}
