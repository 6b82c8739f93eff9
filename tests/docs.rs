//! The documentation cannot drift from the code it describes:
//!
//! - `docs/settings.md`'s settings table has one row per setting the library knows
//!   (`rolebridge::settings::ALL_KEYS` and the per-hop external ID), with S3A's key and the scopes as
//!   the key table says, and command flags that exist in `cli/src`; its table of system properties
//!   and environment variables names only what the sources read, and every one the Java shim's
//!   constants name.
//! - `docs/troubleshooting.md`: every error text it quotes (the backticked parts of the headings
//!   under "Error messages", and of lines starting `> Error text:`) occurs in the code, after the
//!   code's strings are joined across lines; texts printed by other programs are listed in
//!   [`EXTERNAL_TEXTS`] with where they come from.
//! - Every relative link in README.md, DEVELOPMENT.md, BENCHMARKS.md and docs/*.md points to a file
//!   that exists, and every `#anchor` to a heading of that file (GitHub's slugs).
//!
//! Plain string handling, no Markdown parser: the pages are written to these few conventions.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use rolebridge::settings::{hop_external_id_name, is_known_key, ALL_KEYS, GLOBAL_ONLY, PREFIX};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Texts the troubleshooting page quotes that other programs print, and which program.
const EXTERNAL_TEXTS: [(&str, &str); 9] = [
    (
        "Error when retrieving credentials from custom-process",
        "botocore (the AWS CLI v1, boto3): CredentialRetrievalError of ProcessProvider, whose METHOD is custom-process",
    ),
    (
        "Unsupported version",
        "botocore ProcessProvider: the JSON's Version is not 1",
    ),
    (
        "Missing required key in response",
        "botocore ProcessProvider: the JSON lacks AccessKeyId or SecretAccessKey",
    ),
    (
        "No such file or directory",
        "Python's FileNotFoundError when botocore cannot start the credential_process command",
    ),
    (
        "ClassNotFoundException",
        "Java: Hadoop's Configuration.getClassByName for a provider class it cannot see",
    ),
    (
        "Class dev.rolebridge.hadoop.RoleBridgeCredentialsProvider not found",
        "Hadoop's Configuration.getClassByName",
    ),
    (
        "NoClassDefFoundError: com/amazonaws/auth/AWSCredentialsProvider",
        "the JVM, when S3A 3.4 loads the v1 class with no AWS SDK v1 on the class path",
    ),
    ("NoSuchBucket", "S3's error code"),
    ("is not authorized to perform: sts:AssumeRole", "STS's AccessDenied message"),
];

// ---------------------------------------------------------------------------------------------
// Markdown helpers

/// The lines of a page outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push(line);
        }
    }
    out
}

/// The contents of the inline code spans of a line.
fn code_spans(line: &str) -> Vec<&str> {
    line.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect()
}

/// A line with its inline code spans removed (links inside code are not links).
fn without_code(line: &str) -> String {
    line.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(_, s)| s)
        .collect()
}

/// `[text](target)` targets of a line (outside code spans).
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code(line);
    let mut out = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                out.push(after[..end].trim().to_owned());
                rest = &after[end..];
            }
            None => break,
        }
    }
    out
}

/// A heading's text as GitHub renders it, for its slug: code spans keep their text, links their
/// label.
fn heading_text(heading: &str) -> String {
    let mut s = heading.replace('`', "");
    while let (Some(open), Some(mid)) = (s.find('['), s.find("](")) {
        let Some(close) = s[mid..].find(')') else {
            break;
        };
        if open > mid {
            break;
        }
        let label = s[open + 1..mid].to_owned();
        s.replace_range(open..mid + close + 1, &label);
    }
    s
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, punctuation other than `-` and
/// `_` removed.
fn slug(heading: &str) -> String {
    heading_text(heading)
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The ATX headings of a page: (level, text).
fn headings(text: &str) -> Vec<(usize, String)> {
    prose_lines(text)
        .into_iter()
        .filter_map(|l| {
            let level = l.chars().take_while(|c| *c == '#').count();
            let text = l[level..].strip_prefix(' ')?;
            (1..=6)
                .contains(&level)
                .then(|| (level, text.trim().to_owned()))
        })
        .collect()
}

/// Every anchor of a page, with GitHub's `-1`, `-2` suffixes for repeated headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, h) in headings(text) {
        let s = slug(&h);
        let n = seen.entry(s.clone()).or_insert(0);
        out.insert(if *n == 0 {
            s.clone()
        } else {
            format!("{s}-{n}")
        });
        *n += 1;
    }
    out
}

/// The rows of the first table whose header row starts with `header`'s cells: each row's cells,
/// trimmed.
fn table(text: &str, header: &[&str]) -> Vec<Vec<String>> {
    let cells = |line: &str| -> Vec<String> {
        let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
        // A `\|` inside a cell is a literal bar.
        inner
            .replace("\\|", "\u{0}")
            .split('|')
            .map(|c| c.replace('\u{0}', "|").trim().to_owned())
            .collect()
    };
    let lines = prose_lines(text);
    let start = lines
        .iter()
        .position(|l| {
            l.trim_start().starts_with('|') && {
                let c = cells(l);
                c.len() >= header.len() && c.iter().zip(header).all(|(a, b)| a == b)
            }
        })
        .unwrap_or_else(|| panic!("no table with the header {header:?}"));
    lines[start + 2..]
        .iter()
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| cells(l))
        .inspect(|c| assert_eq!(c.len(), header.len(), "row {c:?} of table {header:?}"))
        .collect()
}

fn unquote(cell: &str) -> String {
    cell.trim().trim_matches('`').to_owned()
}

// ---------------------------------------------------------------------------------------------
// Source helpers

/// Every text file under `dirs` (relative to the repository), with its contents.
fn sources(dirs: &[&str]) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Ok(text) = fs::read_to_string(&path) {
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    for d in dirs {
        let p = root().join(d);
        assert!(p.exists(), "{} does not exist", p.display());
        walk(&p, &mut out);
    }
    assert!(!out.is_empty(), "no sources under {dirs:?}");
    out
}

/// Source text with its string literals joined where they are split across lines, so a message
/// reads as users see it: Rust's `\` line continuation (which also eats the next line's
/// indentation), Java's `"..." +` / `+ "..."` concatenation, and escaped quotes.
fn normalise(source: &str) -> String {
    let mut s = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'\n') {
            chars.next();
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
        } else if c == '\\' && chars.peek() == Some(&'"') {
            s.push('"');
            chars.next();
        } else {
            s.push(c);
        }
    }
    // `"abc" +\n   "def"` and `"abc"\n   + "def"`: drop the quote, the plus and the space between.
    let mut out = String::with_capacity(s.len());
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j].is_whitespace() {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == '+' {
                let mut k = j + 1;
                while k < bytes.len() && bytes[k].is_whitespace() {
                    k += 1;
                }
                if k < bytes.len() && bytes[k] == '"' {
                    i = k + 1;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Settings

const SETTINGS_HEADER: [&str; 6] = [
    "key",
    "default",
    "values",
    "scopes",
    "S3A fallback",
    "command flag",
];
const PROPERTIES_HEADER: [&str; 4] = ["name", "kind", "read by", "what it does"];

/// The per-hop external ID as the table writes it.
const HOP_ROW: &str = "rolebridge.role.chain.<N>.external.id";

fn settings_rows() -> BTreeMap<String, Vec<String>> {
    let text = read(&root().join("docs/settings.md"));
    let mut rows = BTreeMap::new();
    for row in table(&text, &SETTINGS_HEADER) {
        let key = unquote(&row[0]);
        assert!(
            rows.insert(key.clone(), row).is_none(),
            "docs/settings.md has two rows for {key}"
        );
    }
    rows
}

#[test]
fn every_setting_of_the_library_has_one_row_and_every_row_is_a_setting() {
    let rows = settings_rows();
    for k in ALL_KEYS {
        let key = format!("{PREFIX}{}", k.name);
        assert!(
            rows.contains_key(&key),
            "docs/settings.md has no row for {key}"
        );
    }
    assert!(
        rows.contains_key(HOP_ROW),
        "docs/settings.md has no row for {HOP_ROW}"
    );
    assert_eq!(rows.len(), ALL_KEYS.len() + 1, "rows: {:?}", rows.keys());
    for key in rows.keys() {
        let concrete = key.replace("<N>", "1");
        assert!(
            is_known_key(&concrete),
            "{key} is not a setting of rolebridge"
        );
        let name = &concrete[PREFIX.len()..];
        assert!(
            ALL_KEYS.iter().any(|k| k.name == name) || name == hop_external_id_name(1),
            "{key} is neither a key of ALL_KEYS nor the per-hop external ID"
        );
    }
}

#[test]
fn the_s3a_column_is_the_key_table_s3a_key() {
    let rows = settings_rows();
    for k in ALL_KEYS {
        let row = &rows[&format!("{PREFIX}{}", k.name)];
        let cell = unquote(&row[4]);
        match k.s3a {
            Some(s3a) => assert_eq!(
                cell,
                format!("fs.s3a.assumed.role.{s3a}"),
                "S3A fallback of rolebridge.{}",
                k.name
            ),
            None => assert!(
                cell.is_empty() || cell == "—",
                "rolebridge.{} has no S3A fallback, but the table says {cell}",
                k.name
            ),
        }
    }
    let hop = unquote(&rows[HOP_ROW][4]);
    assert!(hop.is_empty() || hop == "—", "{HOP_ROW}: {hop}");
}

#[test]
fn the_scopes_column_says_global_only_exactly_for_the_global_only_keys() {
    for (key, row) in settings_rows() {
        let name = &key[PREFIX.len()..];
        let global_only = GLOBAL_ONLY.iter().any(|k| k.name == name);
        let scopes = row[3].to_lowercase();
        if global_only {
            assert!(scopes.contains("global only"), "{key}: scopes {scopes:?}");
        } else {
            assert!(
                !scopes.contains("global only")
                    && ["global", "bucket", "user", "group"]
                        .iter()
                        .all(|s| scopes.contains(s)),
                "{key} may be set globally and per bucket, user and group: scopes {scopes:?}"
            );
        }
    }
}

/// The command's flags: `(flag, key)` pairs of the `("--flag", "rolebridge.key")` tables in
/// cli/src, and whether a flag exists at all (a clap field `pub flag_name:` with `long`, or
/// `long = "flag-name"`).
fn flag_exists(cli: &str, flag: &str) -> bool {
    let bare = flag.trim_start_matches("--");
    cli.contains(&format!("long = \"{bare}\""))
        || cli.contains(&format!("pub {}:", bare.replace('-', "_")))
}

fn flag_key_pairs(cli: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = cli;
    while let Some(at) = rest.find("(\"--") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('"') else { break };
        let flag = &after[..end];
        let tail = &after[end + 1..];
        let tail = tail.trim_start_matches(',').trim_start();
        if let Some(t) = tail.strip_prefix('"') {
            if let Some(kend) = t.find('"') {
                if t[..kend].starts_with(PREFIX) {
                    out.push((flag.to_owned(), t[..kend].to_owned()));
                }
            }
        }
        rest = &after[end..];
    }
    out
}

#[test]
fn command_flags_named_in_the_table_exist_and_set_that_key() {
    let cli: String = sources(&["cli/src"])
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join("\n");
    let pairs = flag_key_pairs(&cli);
    assert!(
        !pairs.is_empty(),
        "cli/src has no (\"--flag\", \"rolebridge.key\") table"
    );
    let rows = settings_rows();
    for (key, row) in &rows {
        for span in code_spans(&row[5]) {
            let flag = span.split_whitespace().next().unwrap_or_default();
            if !flag.starts_with("--") {
                continue;
            }
            assert!(
                flag_exists(&cli, flag),
                "{key}: the command has no flag {flag}"
            );
            if let Some((_, k)) = pairs.iter().find(|(f, _)| f == flag) {
                assert_eq!(k, key, "{flag} sets {k}, not {key}");
            }
        }
    }
    // And the other way: every flag the command maps to a key is in that key's row.
    for (flag, key) in &pairs {
        let row = rows
            .get(key)
            .unwrap_or_else(|| panic!("{flag} sets {key}, which has no row"));
        assert!(
            code_spans(&row[5])
                .iter()
                .any(|s| s.split_whitespace().next() == Some(flag)),
            "the row of {key} does not name its flag {flag}"
        );
    }
}

#[test]
fn system_properties_and_environment_variables_are_read_by_the_sources() {
    let text = read(&root().join("docs/settings.md"));
    let rows = table(&text, &PROPERTIES_HEADER);
    assert!(!rows.is_empty());
    let code: Vec<(PathBuf, String)> = sources(&["java-shim", "cli/src", "src"]);
    let mut named = BTreeSet::new();
    for row in &rows {
        let name = unquote(&row[0]);
        let kind = row[1].to_lowercase();
        assert!(
            kind.contains("system property") || kind.contains("environment variable"),
            "{name}: kind {kind:?}"
        );
        assert!(
            code.iter().any(|(_, t)| t.contains(&format!("\"{name}\""))),
            "{name} is named in docs/settings.md but read nowhere in java-shim/, cli/src/ or src/"
        );
        named.insert(name);
    }
    // Every property and variable the Java shim's constants name, and the native log filter.
    let constants = read(
        &root().join("java-shim/src/main/java/dev/rolebridge/hadoop/RoleBridgeConstants.java"),
    );
    let mut expected = Vec::new();
    for line in constants.lines() {
        let l = line.trim();
        if l.starts_with("public static final String")
            && (l.contains("_PROPERTY =") || l.contains("_ENV ="))
        {
            let value = l.split('"').nth(1).expect("a string constant");
            expected.push(value.to_owned());
        }
    }
    let logging = read(&root().join("src/logging.rs"));
    let log_env = logging
        .lines()
        .find(|l| l.contains("pub const ENV"))
        .and_then(|l| l.split('"').nth(1))
        .expect("src/logging.rs names its environment variable");
    expected.push(log_env.to_owned());
    assert!(expected.len() >= 4, "{expected:?}");
    for e in expected {
        assert!(named.contains(&e), "docs/settings.md does not list {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// Troubleshooting

/// The error texts the troubleshooting page quotes: the code spans of its headings under
/// "Error messages", and of its `> Error text:` lines.
fn quoted_error_texts() -> Vec<String> {
    let text = read(&root().join("docs/troubleshooting.md"));
    let mut out = Vec::new();
    let mut in_errors = false;
    for line in prose_lines(&text) {
        if let Some(h) = line.strip_prefix("## ") {
            in_errors = h.trim() == "Error messages";
        }
        if in_errors && line.starts_with("### ") {
            out.extend(code_spans(line).into_iter().map(str::to_owned));
        }
        if let Some(rest) = line.strip_prefix("> Error text:") {
            out.extend(code_spans(rest).into_iter().map(str::to_owned));
        }
    }
    out
}

#[test]
fn every_quoted_error_text_still_occurs_in_the_code() {
    let code: String = sources(&["src", "cli/src", "java-shim", "deploy"])
        .into_iter()
        .map(|(_, t)| normalise(&t))
        .collect::<Vec<_>>()
        .join("\n");
    let quoted = quoted_error_texts();
    assert!(
        quoted.len() >= 15,
        "only {} quoted texts: {quoted:?}",
        quoted.len()
    );
    let mut missing = Vec::new();
    for q in &quoted {
        let external = EXTERNAL_TEXTS.iter().any(|(t, _)| t == q);
        if !external && !code.contains(q.as_str()) {
            missing.push(q.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md quotes texts the code no longer has: {missing:#?}"
    );
    // The list of external texts holds only what the page quotes.
    for (t, from) in EXTERNAL_TEXTS {
        assert!(
            quoted.iter().any(|q| q == t),
            "EXTERNAL_TEXTS lists {t:?} ({from}), which the page no longer quotes"
        );
        assert!(
            !code.contains(t) || t == "ClassNotFoundException" || t == "NoSuchBucket",
            "{t:?} is in the code now: remove it from EXTERNAL_TEXTS"
        );
    }
}

#[test]
fn the_normalisation_joins_split_strings() {
    let rust = "format!(\"no role \\\n                 is set\")";
    assert!(normalise(rust).contains("no role is set"));
    let java = "\"a file\"\n      + \" system\" + \" here\"";
    assert!(normalise(java).contains("a file system here"));
    let escaped = "\"say \\\"hi\\\"\"";
    assert!(normalise(escaped).contains("say \"hi\""));
}

// ---------------------------------------------------------------------------------------------
// Links

fn pages() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["README.md", "DEVELOPMENT.md", "BENCHMARKS.md"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    let mut docs: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    out.extend(docs);
    out
}

#[test]
fn the_docs_pages_exist() {
    for p in [
        "install-emr",
        "spark-glue-eks",
        "iam",
        "settings",
        "multi-tenant",
        "command",
        "troubleshooting",
        "design",
        "platforms",
    ] {
        let path = root().join(format!("docs/{p}.md"));
        assert!(path.is_file(), "{} is missing", path.display());
    }
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in pages() {
        let text = read(&page);
        for line in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let dest = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().unwrap().join(file)
                };
                if !dest.exists() {
                    broken.push(format!("{}: {target}: no such file", page.display()));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let ok = dest.extension().is_some_and(|e| e == "md")
                        && anchors(&read(&dest)).contains(anchor);
                    if !ok {
                        broken.push(format!("{}: {target}: no such heading", page.display()));
                    }
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} links checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug("Roles by Hadoop user and group"),
        "roles-by-hadoop-user-and-group"
    );
    assert_eq!(slug("`no role is set`"), "no-role-is-set");
    assert_eq!(
        slug("Failure mode: closed by default"),
        "failure-mode-closed-by-default"
    );
    assert_eq!(
        slug("One session per node (`rolebridge.cache.dir`)"),
        "one-session-per-node-rolebridgecachedir"
    );
    assert_eq!(slug("[Settings](settings.md) table"), "settings-table");
    let a = anchors("# A\n## A\n```\n# not a heading\n```\n### A\n");
    assert_eq!(
        a,
        ["a", "a-1", "a-2"].iter().map(|s| s.to_string()).collect()
    );
}

#[test]
fn the_readme_is_a_landing_page() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines <= 210,
        "README.md has {lines} lines; keep it a landing page"
    );
}
