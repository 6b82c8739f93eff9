//! Who a session is for, as STS records it: the `{user}` placeholder, SourceIdentity, session
//! tags and role chains. Plain validation, before any network call; [`crate::settings`] looks the
//! values up and calls these.

use super::values::{is_name_char, shown, validate_role_arn};
use crate::error::{Error, Result};

/// The one placeholder: the Hadoop short user name the provider is made for.
pub const USER_PLACEHOLDER: &str = "{user}";
/// STS takes at most 50 session tags.
pub const MAX_TAGS: usize = 50;
/// The longest `rolebridge.role.chain` accepted. STS has no limit of its own, but every refresh
/// makes one AssumeRole call per hop.
pub const MAX_CHAIN_HOPS: usize = 10;

/// One role of `rolebridge.role.chain`, assumed before the next with the session of the one
/// before it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hop {
    pub role_arn: String,
    /// `rolebridge.role.chain.<N>.external.id`, N counted from 1.
    pub external_id: Option<String>,
}

/// The name (after the scope prefix) of hop `n`'s external ID setting, `n` counted from 1.
pub fn hop_external_id_name(n: usize) -> String {
    format!("role.chain.{n}.external.id")
}

/// The hop number of a `role.chain.<N>.external.id` setting name, if `name` is one (N from 1 to
/// [`MAX_CHAIN_HOPS`], without leading zeros).
pub fn hop_of_external_id_name(name: &str) -> Option<usize> {
    let n = name
        .strip_prefix("role.chain.")?
        .strip_suffix(".external.id")?;
    if n.starts_with('0') || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok().filter(|n| (1..=MAX_CHAIN_HOPS).contains(n))
}

/// Replaces `{user}` with the Hadoop short user name. Any other `{...}` (or a lone brace) is an
/// error: none of the values that take the placeholder may hold a brace, so it can only be a
/// misspelt placeholder.
pub fn substitute(key: &str, value: &str, user: Option<&str>) -> Result<String> {
    let fix = "Write the placeholder exactly as {user} (the only one: the Hadoop short user \
               name), or remove the braces";
    if value.contains(USER_PLACEHOLDER) && user.is_none() {
        return Err(Error::setting(
            key,
            format!(
                "{} uses {{user}}, but this provider has no Hadoop user",
                shown(value)
            ),
            "Set the value without {user}",
        ));
    }
    let out = value.replace(USER_PLACEHOLDER, user.unwrap_or(""));
    // Braces left in the value (not ones the user name brought in) are a misspelt placeholder.
    let rest = value.replace(USER_PLACEHOLDER, "");
    if let Some(i) = rest.find(['{', '}']) {
        let bad: String = match rest[i..].find('}') {
            Some(j) if rest[i..].starts_with('{') => rest[i..=i + j].to_owned(),
            _ => rest[i..].chars().take(1).collect(),
        };
        return Err(Error::setting(
            key,
            format!(
                "{} has an unknown placeholder or a stray brace: {bad}",
                shown(value)
            ),
            fix,
        ));
    }
    Ok(out)
}

/// What to say when a value made with `{user}` breaks a rule the value without it would not: the
/// user's name is the cause, and the fix is per user.
fn user_cause(template: &str, user: Option<&str>, setting: &str) -> String {
    match user {
        Some(u) if template.contains(USER_PLACEHOLDER) => format!(
            " (after {{user}} became the Hadoop user name \"{u}\", which cannot be made valid \
             here; rolebridge does not change it into a different identity. Give this user a \
             value without {{user}} with rolebridge.user.{u}.{setting})"
        ),
        _ => String::new(),
    }
}

/// `e` (a setting error about a value made from `template`) with the user name named as its cause.
pub fn with_user_cause(e: Error, template: &str, user: Option<&str>, setting: &str) -> Error {
    match e {
        Error::Setting { key, problem, fix } => Error::Setting {
            problem: problem + &user_cause(template, user, setting),
            key,
            fix,
        },
        other => other,
    }
}

/// A role ARN that may hold `{user}` (`rolebridge.role.arn`, each ARN of `rolebridge.role.chain`):
/// substituted, then validated as an ARN. The user name must itself be made of role-name
/// characters, so it can never add a path (`/`) or turn one role into another.
pub fn substitute_role_arn(
    key: &str,
    template: &str,
    user: Option<&str>,
    setting: &str,
) -> Result<String> {
    if let Some(u) = user.filter(|_| template.contains(USER_PLACEHOLDER)) {
        if !u.chars().all(is_name_char) {
            return Err(Error::setting(
                key,
                format!(
                    "{} uses {{user}}, but the Hadoop user name \"{u}\" has characters a role \
                     name cannot hold (letters, digits and _+=,.@- only); rolebridge does not \
                     change it into a different role",
                    shown(template)
                ),
                format!(
                    "Give this user a role without {{user}} with {}{u}.{setting}",
                    super::keys::USER_PREFIX
                ),
            ));
        }
    }
    let arn = substitute(key, template, user)?;
    validate_role_arn(key, &arn).map_err(|e| with_user_cause(e, template, user, setting))
}

/// `rolebridge.source.identity` after substitution: 2-64 characters of `[\w+=,.@-]`, not
/// starting with `aws:`.
pub fn validate_source_identity(
    key: &str,
    template: &str,
    user: Option<&str>,
    setting: &str,
) -> Result<String> {
    let value = substitute(key, template, user)?;
    let n = value.chars().count();
    let why = if value.to_ascii_lowercase().starts_with("aws:") {
        Some("starts with aws:, which STS reserves".to_owned())
    } else if !(2..=64).contains(&n) || !value.chars().all(is_name_char) {
        Some(format!(
            "({n} characters) is not a valid SourceIdentity: STS takes 2-64 characters of \
             letters, digits and _+=,.@-"
        ))
    } else {
        None
    };
    match why {
        None => Ok(value),
        Some(why) => Err(Error::setting(
            key,
            format!(
                "{} {why}{}",
                shown(&value),
                user_cause(template, user, setting)
            ),
            "Give the person or job responsible, e.g. {user} or etl-{user}; CloudTrail records it \
             for every action of the session and no later role of a chain can change it",
        )),
    }
}

/// STS's tag characters: `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || is_space_separator(c) || "_.:/=+-@".contains(c)
}

/// Unicode's Z categories (space, line and paragraph separators).
fn is_space_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}'
    )
}

/// `rolebridge.session.tags`: `key=value,key=value` (at most 50; keys 1-128 and values 0-256
/// characters of STS's tag characters; keys unique regardless of case; none starting with
/// `aws:`). `{user}` is replaced in keys and values after the list is split, so a user name can
/// never add or split a tag.
pub fn parse_tags(
    key: &str,
    template: &str,
    user: Option<&str>,
    setting: &str,
) -> Result<Vec<(String, String)>> {
    let fix =
        "Write key=value pairs separated by commas, e.g. user={user},team=analytics; keys of \
               1-128 and values of 0-256 letters, digits, spaces and _.:/=+-@, at most 50 tags";
    let bad = |why: String| Error::setting(key, why, fix);
    let entries: Vec<&str> = template.split(',').map(str::trim).collect();
    if entries.len() > MAX_TAGS {
        return Err(bad(format!(
            "lists {} tags; STS takes at most {MAX_TAGS}",
            entries.len()
        )));
    }
    let mut tags: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let Some((k, v)) = entry.split_once('=') else {
            return Err(bad(format!(
                "{} is not of the form key=value",
                shown(entry)
            )));
        };
        let (k, v) = (
            substitute(key, k.trim(), user)?,
            substitute(key, v.trim(), user)?,
        );
        let cause = user_cause(entry, user, setting);
        let (kn, vn) = (k.chars().count(), v.chars().count());
        if !(1..=128).contains(&kn) || !k.chars().all(is_tag_char) {
            return Err(bad(format!(
                "the tag key {} ({kn} characters) is not what STS takes: 1-128 letters, digits, \
                 spaces and _.:/=+-@{cause}",
                shown(&k)
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad(format!(
                "the tag key {} starts with aws:, which AWS reserves",
                shown(&k)
            )));
        }
        if vn > 256 || !v.chars().all(is_tag_char) {
            return Err(bad(format!(
                "the value {} of tag {} ({vn} characters) is not what STS takes: 0-256 letters, \
                 digits, spaces and _.:/=+-@{cause}",
                shown(&v),
                shown(&k)
            )));
        }
        if let Some((other, _)) = tags
            .iter()
            .find(|(o, _)| o.to_lowercase() == k.to_lowercase())
        {
            return Err(bad(format!(
                "has the tag key {} twice ({} and {}): STS compares tag keys regardless of case",
                shown(&k),
                shown(other),
                shown(&k)
            )));
        }
        tags.push((k, v));
    }
    Ok(tags)
}

/// `rolebridge.session.tags.transitive`: comma-separated keys, each one of the session tags.
pub fn parse_transitive_keys(
    key: &str,
    value: &str,
    tags: &[(String, String)],
    tags_key: Option<&str>,
) -> Result<Vec<String>> {
    let mut keys: Vec<String> = Vec::new();
    for k in value.split(',').map(str::trim) {
        let Some((tag, _)) = tags
            .iter()
            .find(|(t, _)| t.to_lowercase() == k.to_lowercase())
        else {
            let known = match tags_key {
                Some(tk) => format!(
                    "the keys of {tk} are {}",
                    tags.iter()
                        .map(|(t, _)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None => "rolebridge.session.tags is not set".to_owned(),
            };
            return Err(Error::setting(
                key,
                format!("names {}, which is not a session tag ({known})", shown(k)),
                "Use only keys of rolebridge.session.tags, comma-separated: a transitive tag \
                 carries its value on through every role of a chain",
            ));
        };
        if !keys.contains(tag) {
            keys.push(tag.clone());
        }
    }
    Ok(keys)
}

/// `rolebridge.role.chain`: comma-separated role ARNs, at most [`MAX_CHAIN_HOPS`], each of which
/// may hold `{user}` (replaced after the list is split, so a user name never adds a hop).
pub fn parse_chain(
    key: &str,
    value: &str,
    user: Option<&str>,
    setting: &str,
) -> Result<Vec<String>> {
    let arns: Vec<&str> = value.split(',').map(str::trim).collect();
    if arns.len() > MAX_CHAIN_HOPS {
        return Err(Error::setting(
            key,
            format!(
                "lists {} roles; rolebridge takes at most {MAX_CHAIN_HOPS}",
                arns.len()
            ),
            "Shorten the chain: every refresh makes one AssumeRole call per role",
        ));
    }
    arns.into_iter()
        .enumerate()
        .map(|(i, arn)| {
            substitute_role_arn(key, arn, user, setting).map_err(|e| match e {
                Error::Setting { key, problem, .. } => Error::setting(
                    key,
                    format!("role {} of the chain: {problem}", i + 1),
                    "Give the ARNs of the roles to assume before rolebridge.role.arn, in order, \
                     separated by commas, e.g. arn:aws:iam::333333333333:role/hub,\
                     arn:aws:iam::444444444444:role/spoke",
                ),
                other => other,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(Error::Setting { problem, .. }) => problem,
            other => panic!("expected a setting error, got {other:?}"),
        }
    }

    #[test]
    fn placeholders() {
        assert_eq!(
            substitute("k", "etl-{user}", Some("alice")).unwrap(),
            "etl-alice"
        );
        assert_eq!(substitute("k", "{user}{user}", Some("a")).unwrap(), "aa");
        assert_eq!(substitute("k", "plain", None).unwrap(), "plain");
        assert!(problem(substitute("k", "{user}", None)).contains("no Hadoop user"));
        for bad in ["{usr}", "{USER}", "{user", "user}", "${user}x{", "{}"] {
            let p = problem(substitute("k", bad, Some("alice")));
            assert!(p.contains("unknown placeholder"), "{bad}: {p}");
        }
        // A brace in the user name is the name's problem (found by the value's own rule), not a
        // placeholder error.
        assert_eq!(substitute("k", "{user}", Some("a{b}")).unwrap(), "a{b}");
    }

    #[test]
    fn source_identities() {
        let v = |t: &str, u: Option<&str>| validate_source_identity("k", t, u, "source.identity");
        assert_eq!(v("{user}", Some("alice")).unwrap(), "alice");
        assert_eq!(v("etl-{user}@corp", Some("bob")).unwrap(), "etl-bob@corp");
        assert!(problem(v("aws:x", None)).contains("aws:"));
        assert!(problem(v("AWS:x", None)).contains("aws:"));
        assert!(problem(v("a", None)).contains("2-64"));
        assert!(v(&"s".repeat(64), None).is_ok());
        assert!(v(&"s".repeat(65), None).is_err());
        // A user name that cannot be a SourceIdentity is an error naming the user, not changed.
        let p = problem(v("{user}", Some("Jürgen Müller")));
        assert!(
            p.contains("\"Jürgen Müller\"")
                && p.contains("rolebridge.user.Jürgen Müller.source.identity"),
            "{p}"
        );
        assert!(problem(v("{user}", Some("x"))).contains("2-64"));
    }

    #[test]
    fn tags() {
        let t = |v: &str, u: Option<&str>| parse_tags("k", v, u, "session.tags");
        assert_eq!(
            t(" user={user} , team=data lake,empty= ", Some("alice")).unwrap(),
            vec![
                ("user".to_owned(), "alice".to_owned()),
                ("team".to_owned(), "data lake".to_owned()),
                ("empty".to_owned(), String::new())
            ]
        );
        assert_eq!(t("a=b=c", None).unwrap(), vec![("a".into(), "b=c".into())]);
        assert_eq!(t("ü=ñ:/@+", None).unwrap().len(), 1);
        // A user name cannot add or split tags.
        assert_eq!(
            t("user={user}", Some("x=y")).unwrap(),
            vec![("user".into(), "x=y".into())]
        );
        assert!(problem(t("user={user}", Some("a,b"))).contains("\"a,b\""));
        let fifty: Vec<String> = (0..50).map(|i| format!("k{i}=v")).collect();
        assert_eq!(t(&fifty.join(","), None).unwrap().len(), 50);
        let fifty_one: Vec<String> = (0..51).map(|i| format!("k{i}=v")).collect();
        assert!(problem(t(&fifty_one.join(","), None)).contains("at most 50"));
        assert!(problem(t("novalue", None)).contains("key=value"));
        assert!(problem(t("=v", None)).contains("tag key"));
        assert!(problem(t("a;b=v", None)).contains("tag key"));
        assert!(problem(t(&format!("{}=v", "k".repeat(129)), None)).contains("1-128"));
        assert!(t(&format!("{}=v", "k".repeat(128)), None).is_ok());
        assert!(problem(t(&format!("k={}", "v".repeat(257)), None)).contains("0-256"));
        assert!(problem(t("k=a*b", None)).contains("value"));
        assert!(problem(t("Team=a,team=b", None)).contains("twice"));
        assert!(problem(t("aws:x=1", None)).contains("aws:"));
        assert!(problem(t("k={usr}", Some("u"))).contains("placeholder"));
    }

    #[test]
    fn transitive_keys() {
        let tags = parse_tags("t", "user=a,Team=b", None, "session.tags").unwrap();
        assert_eq!(
            parse_transitive_keys("k", "team, user,USER", &tags, Some("t")).unwrap(),
            vec!["Team".to_owned(), "user".to_owned()]
        );
        let p = problem(parse_transitive_keys("k", "project", &tags, Some("t")));
        assert!(p.contains("\"project\"") && p.contains("user, Team"), "{p}");
        assert!(problem(parse_transitive_keys("k", "user", &[], None)).contains("not set"));
    }

    #[test]
    fn chains_and_hop_keys() {
        let two = parse_chain(
            "k",
            "arn:aws:iam::333333333333:role/a, arn:aws:iam::444444444444:role/b",
            None,
            "role.chain",
        )
        .unwrap();
        assert_eq!(two.len(), 2);
        let p = problem(parse_chain(
            "k",
            "arn:aws:iam::333333333333:role/a,not-an-arn",
            None,
            "role.chain",
        ));
        assert!(p.starts_with("role 2 of the chain"), "{p}");
        assert!(parse_chain("k", "arn:aws:iam::333333333333:role/a,", None, "role.chain").is_err());
        let eleven = ["arn:aws:iam::333333333333:role/a"; 11].join(",");
        assert!(problem(parse_chain("k", &eleven, None, "role.chain")).contains("at most 10"));
        assert_eq!(hop_of_external_id_name("role.chain.1.external.id"), Some(1));
        assert_eq!(hop_of_external_id_name(&hop_external_id_name(10)), Some(10));
        for bad in [
            "role.chain.0.external.id",
            "role.chain.01.external.id",
            "role.chain.11.external.id",
            "role.chain.x.external.id",
            "role.chain..external.id",
            "role.chain.1.external",
        ] {
            assert_eq!(hop_of_external_id_name(bad), None, "{bad}");
        }
    }
}
