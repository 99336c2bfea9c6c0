//! The docs site that `spec build` writes into `generated/docs/`: what it
//! contains, that it is safe and deterministic, that its links resolve, and
//! the project configuration (`spec.toml`): template overrides, the
//! changelog, the base URL. The browser checks are in `browser.rs`; that
//! the repository's `generated/docs/` is current is checked with the rest of
//! `generated/` (`build.rs`, `the_repository_generated_dir_is_up_to_date`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt as _;
use spec::codegen::{self, GeneratedFile};
use spec::config::Config;

use crate::common::root;

/// The docs files of a build of `paths`, keyed by path under `docs/`.
fn docs_of(paths: &[PathBuf], config: &Config) -> BTreeMap<String, String> {
    let project = spec::validate::validate(paths).expect("readable specs");
    assert!(
        !project.has_errors(),
        "{}",
        spec::render::human(&project.sources, &project.diagnostics, false)
    );
    let build = codegen::build_with(&project.connectors, config).expect("builds");
    docs_files(&build.files)
}

fn docs_files(files: &[GeneratedFile]) -> BTreeMap<String, String> {
    files
        .iter()
        .filter_map(|f| {
            let path = f.path.to_string_lossy().replace('\\', "/");
            path.strip_prefix("docs/")
                .map(|p| (p.to_string(), f.contents.clone()))
        })
        .collect()
}

fn specs_docs() -> BTreeMap<String, String> {
    docs_of(&[root().join("specs")], &Config::default())
}

fn spec_keys() -> Vec<String> {
    let project = spec::validate::validate(&[root().join("specs")]).unwrap();
    let mut keys: Vec<String> = project
        .connectors
        .iter()
        .map(|c| c.model.app.key.clone())
        .collect();
    keys.sort();
    keys
}

#[test]
fn jushuitan_markdown() {
    let docs = specs_docs();
    insta::assert_snapshot!("docs_jushuitan_md", docs["jushuitan.md"]);
}

#[test]
fn every_connector_has_pages_and_the_indexes_list_them_all() {
    let docs = specs_docs();
    let keys = spec_keys();
    assert_eq!(keys.len(), 7);
    let mut expected: Vec<String> = vec![
        "README.md".into(),
        "assets/app.js".into(),
        "assets/style.css".into(),
        "index.html".into(),
        "tables.html".into(),
    ];
    for key in &keys {
        expected.push(format!("{key}.html"));
        expected.push(format!("{key}.md"));
    }
    expected.sort();
    assert_eq!(docs.keys().cloned().collect::<Vec<_>>(), expected);
    let index = &docs["index.html"];
    let readme = &docs["README.md"];
    let mut at = 0;
    for key in &keys {
        let card = format!("<li class=\"card\" id=\"app-{key}\" data-key=\"{key}\"");
        let found = index[at..]
            .find(&card)
            .unwrap_or_else(|| panic!("index.html lacks {key}, or not in key order"));
        at += found;
        assert!(index.contains(&format!("<a href=\"{key}.html\">")), "{key}");
        assert!(
            readme.contains(&format!("]({key}.md) | `{key}` |")),
            "{key}"
        );
    }
    // Filters offer exactly the categories and auth types in use.
    for category in [
        "communication",
        "ecommerce",
        "erp",
        "finance",
        "logistics",
        "productivity",
    ] {
        assert!(index.contains(&format!("<option value=\"{category}\">{category}</option>")));
    }
    for auth in ["api_key", "bearer", "oauth2", "signature"] {
        assert!(
            index.contains(&format!("<option value=\"{auth}\"")),
            "{auth}"
        );
    }
    assert!(
        !index.contains("<option value=\"basic\""),
        "no connector uses basic auth"
    );
}

#[test]
fn a_connector_page_says_how_to_connect_and_describes_every_action() {
    let docs = specs_docs();
    let onenote = &docs["onenote.html"];
    // OAuth: scopes, the redirect URL to register, PKCE; the secret is marked.
    for scope in ["offline_access", "User.Read", "Notes.ReadWrite"] {
        assert!(
            onenote.contains(&format!("<li><code>{scope}</code></li>")),
            "{scope}"
        );
    }
    assert!(onenote.contains("<code class=\"copyable\">http://127.0.0.1:8765/callback</code>"));
    assert!(
        onenote
            .contains("https://login.microsoftonline.com/{{ auth.tenant }}/oauth2/v2.0/authorize")
    );
    assert!(onenote.contains("<code>client_secret</code>\n <span class=\"badge badge-req\">"));
    assert!(onenote.contains("<span class=\"badge badge-secret\">"));
    // A non-secret default is shown (tenant = common).
    assert!(onenote.contains("<code>common</code>"));
    // The connection test, the request summary, ids, sample, example.
    assert!(onenote.contains("<span class=\"method method-get\">GET</span> <code class=\"url\">https://graph.microsoft.com/v1.0/me</code>"));
    assert!(onenote.contains("<code>26601</code>") && onenote.contains("<code>26651</code>"));
    assert!(onenote.contains("&quot;displayName&quot;: &quot;Project Apollo&quot;"));
    assert!(onenote.contains("spec exec action onenote create_page \\\n    -i title=example"));
    assert!(onenote.contains("spec exec trigger onenote new_notebook"));
    // Jushuitan: signing recipe and the nested group, nested.
    let jushuitan = &docs["jushuitan.html"];
    assert!(jushuitan.contains("The body parameters sorted by name, without <code>sign</code>"));
    let items = jushuitan
        .find("id=\"action-create_inventory_count-input-items\"")
        .unwrap();
    let children = jushuitan[items..]
        .find("<tr class=\"children\" data-parent=\"action-create_inventory_count-input-items\">")
        .unwrap()
        + items;
    let sku = jushuitan
        .find("id=\"action-create_inventory_count-input-items.sku_id\"")
        .unwrap();
    let end = children + jushuitan[children..].find("</table>").unwrap();
    assert!(
        children < sku && sku < end,
        "sku_id is in the table nested under items"
    );
    assert!(jushuitan.contains("1 to 500 items"));
    assert!(jushuitan.contains(
        "spec exec action jushuitan create_inventory_count \\\n    -i so_id=example \\\n    -i &#x27;items[0].sku_id=example&#x27; \\\n    -i &#x27;items[0].qty=1&#x27;"
    ));
    // DingTalk has no connection test and says so.
    assert!(docs["dingtalk.html"].contains("This connector has no connection test"));
}

#[test]
fn both_languages_are_in_the_page_and_english_shows_by_default() {
    let docs = specs_docs();
    let page = &docs["jushuitan.html"];
    assert!(page.starts_with(
        "<!DOCTYPE html>\n<html lang=\"en\" data-lang=\"en\" data-languages=\"en zh\">"
    ));
    assert!(page.contains(
        "<h1><span lang=\"en\">Jushuitan ERP</span><span lang=\"zh\">聚水潭</span></h1>"
    ));
    assert!(page.contains(
        "<span lang=\"en\">Create inventory count</span><span lang=\"zh\">新建盘点单</span>"
    ));
    // The page chrome switches too.
    assert!(
        page.contains("<span lang=\"en\">Input fields</span><span lang=\"zh\">输入字段</span>")
    );
    // A text that reads the same in both languages is written once.
    assert!(docs["shopify.html"].contains("<h1>Shopify</h1>"));
    // The stylesheet hides the languages not chosen.
    let css = &docs["assets/style.css"];
    assert!(css.contains(
        "html[data-lang=\"zh\"] span[lang]:not([lang=\"zh\"]):not([data-l~=\"zh\"]) { display: none; }"
    ));
    // Markdown gives both, side by side.
    assert!(docs["jushuitan.md"].starts_with("# Jushuitan ERP / 聚水潭\n"));
}

#[test]
fn tables_page_is_the_reference_from_the_code_and_the_prose_of_docs_tables_md() {
    let docs = specs_docs();
    let page = &docs["tables.html"];
    for table in spec::codegen::tables::TABLES {
        assert!(
            page.contains(&format!("id=\"table-{}\"", table.name)),
            "{}",
            table.name
        );
        for column in table.columns {
            assert!(
                page.contains(&format!("id=\"table-{}-{}\"", table.name, column.name)),
                "{}.{}",
                table.name,
                column.name
            );
        }
    }
    assert!(page.contains("<h2 id=\"conventions\">Conventions</h2>"));
    assert!(page.contains("<strong>Secrets never appear.</strong>"));
    // Nothing of docs/tables.md is left as raw Markdown.
    let prose_end = page.find("<section class=\"table-ref\"").unwrap();
    let prose = &page[..prose_end];
    for raw in ["**", "\n| ", "\n- ", "\n## ", "<!--"] {
        assert!(
            !prose.contains(raw),
            "unconverted Markdown `{raw}` in tables.html"
        );
    }
}

#[test]
fn everything_from_a_spec_is_escaped_and_secrets_never_appear() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("evil.yaml"),
        r#"spec_version: 1
app:
  id: 4242
  key: evil
  name: {en: "<script>alert('name')</script>", zh: "\"引号\" & <b>粗体</b>"}
  description: "Ends a </table> early | and a `<code>` span"
  category: "<img src=x onerror=alert(1)>"
  base_url: https://evil.example.com
  homepage: "https://evil.example.com/?a=1&b=\"2\""
auth:
  type: api_key
  fields:
    - key: api_key
      label: "Key <i>here</i>"
      secret: true
      help: "Paste it | then `run`"
  place:
    - {in: header, name: X-Key, value: "{{ auth.api_key }}"}
actions:
  - id: 424201
    key: act
    name: "</h3><script>alert('op')</script>"
    is_end: true
    input:
      - key: note
        type: string
        label: "x\" onmouseover=\"alert(1)"
        help: "<svg onload=alert(1)>"
        choices:
          - {key: "<o>", label: "</li><script>alert(3)</script>"}
    request:
      path: /x
    output:
      - {key: html, type: string, label: "<em>out</em>"}
    sample: {html: "<script>alert('sample')</script>"}
"#,
    )
    .unwrap();
    let docs = docs_of(&[dir.path().to_path_buf()], &Config::default());
    for (path, text) in &docs {
        if path.starts_with("assets/") {
            continue;
        }
        // Markdown code (fenced or inline) shows its text as it is.
        let text = if path.ends_with(".md") {
            &outside_code(text)
        } else {
            text
        };
        // In HTML an attribute must not be broken out of; in Markdown a
        // quote is just a character.
        let attribute = ["onmouseover=\"alert"];
        let tags = [
            "<script>alert",
            "<img src=x",
            "<svg onload",
            "<b>粗体",
            "<i>here",
            "<em>out",
        ];
        let attribute: &[&str] = if path.ends_with(".md") {
            &[]
        } else {
            &attribute
        };
        for raw in tags.iter().chain(attribute) {
            assert!(
                !text.contains(raw),
                "{path} contains `{raw}` unescaped:\n{text}"
            );
        }
    }
    let page = &docs["evil.html"];
    assert!(page.contains("&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;"));
    assert!(page.contains("Ends a &lt;/table&gt; early | and a <code>&lt;code&gt;</code> span"));
    assert!(
        docs["evil.md"].contains("Paste it \\| then `run`"),
        "{}",
        docs["evil.md"]
    );

    // A secret's default never reaches a page, even if a spec had one
    // (validation refuses it: R011).
    let project = spec::validate::validate(&[root().join("specs")]).unwrap();
    let mut connectors = project.connectors;
    let vika = connectors
        .iter_mut()
        .find(|c| c.model.app.key == "vika")
        .unwrap();
    let spec::model::Auth::Bearer(auth) = &mut vika.model.auth else {
        panic!("vika uses a bearer token");
    };
    auth.fields[0].default = Some("sk-live-SHOULD-NOT-LEAK".to_string());
    auth.fields[0].placeholder = Some(spec::model::Text::Plain("sk-live-PLACEHOLDER".to_string()));
    let build = codegen::build_with(&connectors, &Config::default()).unwrap();
    for (path, text) in docs_files(&build.files) {
        assert!(
            !text.contains("SHOULD-NOT-LEAK"),
            "{path} shows a secret default"
        );
        assert!(
            !text.contains("sk-live-PLACEHOLDER"),
            "{path} shows a secret's placeholder"
        );
    }
}

/// Markdown without its fenced blocks and code spans.
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in md.lines() {
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            for (i, part) in line.split('`').enumerate() {
                if i % 2 == 0 {
                    out.push_str(part);
                }
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn docs_are_deterministic_and_free_of_local_paths() {
    let first = specs_docs();
    // The same specs given in another order and by another path.
    let mut paths: Vec<PathBuf> = fs::read_dir(root().join("specs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths.reverse();
    let second = docs_of(&paths, &Config::default());
    assert_eq!(first, second);
    let root_text = root().to_string_lossy().replace('\\', "/");
    for (path, text) in &first {
        assert!(!text.contains(&root_text), "{path} names the checkout");
        assert!(!text.contains("specs/"), "{path} names a spec path");
    }
}

/// Internal links of every page, found by a small scan of `href="…"` and
/// `src="…"` (HTML) and `](…)` (Markdown): each names a file of the site
/// and, after `#`, an id on that page.
#[test]
fn no_internal_link_is_broken() {
    for docs in [
        specs_docs(),
        docs_of(&[crate::common::fixture("sql/base")], &Config::default()),
    ] {
        let mut checked = 0;
        let mut broken = Vec::new();
        for (path, text) in &docs {
            let targets: Vec<&str> = if path.ends_with(".html") {
                attribute_values(text, "href=\"")
                    .chain(attribute_values(text, "src=\""))
                    .collect()
            } else if path.ends_with(".md") {
                text.split("](")
                    .skip(1)
                    .filter_map(|rest| rest.split(')').next())
                    .collect()
            } else {
                continue;
            };
            for target in targets {
                if target.starts_with("http://")
                    || target.starts_with("https://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                checked += 1;
                let target = target.replace("&amp;", "&");
                let (file_and_query, fragment) = target.split_once('#').unwrap_or((&target, ""));
                let file = file_and_query.split('?').next().unwrap();
                let file = if file.is_empty() { path.as_str() } else { file };
                let Some(page) = docs.get(file) else {
                    broken.push(format!("{path}: {target} (no such file)"));
                    continue;
                };
                if !fragment.is_empty() && !page.contains(&format!("id=\"{fragment}\"")) {
                    broken.push(format!("{path}: {target} (no id `{fragment}` in {file})"));
                }
            }
        }
        assert!(checked > 50, "only {checked} links checked");
        assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    }
}

fn attribute_values<'a>(html: &'a str, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    html.split(prefix)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
}

// ---------------------------------------------------------------------------
// The project configuration, through the real binary

fn spec_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("spec")
        .unwrap()
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap().path();
        let target = to.join(entry.file_name().unwrap());
        if entry.is_dir() {
            copy_dir(&entry, &target);
        } else {
            fs::copy(&entry, &target).unwrap();
        }
    }
}

/// A project: the base fixture as `specs/`, and `spec.toml` if given.
fn project(config: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &crate::common::fixture("sql/base"),
        &dir.path().join("specs"),
    );
    if let Some(config) = config {
        fs::write(dir.path().join("spec.toml"), config).unwrap();
    }
    dir
}

#[test]
fn a_project_template_replaces_one_default_template() {
    let dir = project(Some(
        "[docs]\ntitle = \"Acme connectors\"\ntemplates = \"docs/templates\"\n",
    ));
    let templates = dir.path().join("docs/templates");
    fs::create_dir_all(&templates).unwrap();
    fs::write(
        templates.join("index.md"),
        "# {{ site.title }}\n\n{% for c in site.connectors %}- {{ c.key }}: {{ c.name | t }} ({{ site.ui[c.auth_type].en }})\n{% endfor %}",
    )
    .unwrap();
    // A partial of the project's own, included by an overridden template.
    fs::write(
        templates.join("_brand.html"),
        "<p class=\"brand-note\">{{ site.title }} — internal</p>\n",
    )
    .unwrap();
    fs::write(
        templates.join("connector.md"),
        "# {{ connector.name | t }}\n{% for op in connector.actions %}\n## {{ op.key }}\n{% for f in op.input %}- {{ f.key }}{% for g in f.fields %} > {{ g.key }}{% endfor %}\n{% endfor %}{% endfor %}",
    )
    .unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 0, "{stderr}");
    let generated = dir.path().join("generated/docs");
    let readme = fs::read_to_string(generated.join("README.md")).unwrap();
    assert_eq!(
        readme,
        "# Acme connectors\n\n- notes: Notes (Bearer token)\n- tiny_erp: Tiny ERP / 小型 ERP (API key)\n"
    );
    // The structured fields are there for templates that render their own.
    let md = fs::read_to_string(generated.join("tiny_erp.md")).unwrap();
    assert!(
        md.contains("## create_count\n- data > warehouse_id > stock_type > remark > items\n"),
        "{md}"
    );
    // Everything else is the default, with the configured title.
    let index = fs::read_to_string(generated.join("index.html")).unwrap();
    assert!(index.contains("<title>Acme connectors</title>"), "{index}");
    assert!(index.contains("id=\"app-tiny_erp\""));
    // --check agrees, and notices a changed template.
    let (code, _, stderr) = spec_in(dir.path(), &["build", "--check"]);
    assert_eq!(code, 0, "{stderr}");
    fs::write(templates.join("index.md"), "# changed\n").unwrap();
    let (code, stdout, _) = spec_in(dir.path(), &["build", "--check"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("stale: generated/docs/README.md"),
        "{stdout}"
    );
}

#[test]
fn template_and_config_mistakes_are_clear_errors() {
    // A file that replaces nothing: a typo, with the name it meant.
    let dir = project(Some("[docs]\ntemplates = \"tpl\"\n"));
    fs::create_dir_all(dir.path().join("tpl")).unwrap();
    fs::write(dir.path().join("tpl/conector.html"), "x").unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error: docs: `tpl/conector.html` does not replace any docs template"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `connector.html`?"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!dir.path().join("generated").exists());

    // A syntax error names the template, the line and the file to fix.
    fs::remove_file(dir.path().join("tpl/conector.html")).unwrap();
    fs::write(
        dir.path().join("tpl/index.html"),
        "{% extends \"base.html\" %}\n{% block main %}{{ site.title }\n{% endblock %}\n",
    )
    .unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("syntax error"), "{stderr}");
    assert!(stderr.contains("(in index.html:2)"), "{stderr}");
    assert!(
        stderr.contains("the template is `tpl/index.html`"),
        "{stderr}"
    );

    // An undefined variable is an error, not an empty string.
    fs::write(dir.path().join("tpl/index.html"), "{{ site.titel }}\n").unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("undefined value"), "{stderr}");

    // An unknown key in spec.toml: exit 2, where, and what was meant.
    let dir = project(Some("[docs]\ntitel = \"x\"\n"));
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: spec.toml:2:1: invalid configuration: unknown field `titel`"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `title`?"), "{stderr}");
    let dir = project(Some("[docs]\ntemplates = \"missing\"\n"));
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error: missing: cannot read"), "{stderr}");
}

#[test]
fn base_url_adds_canonical_links_and_a_sitemap() {
    let config = Config::parse(
        "[docs]\nbase_url = \"https://docs.example.com/connectors\"\n",
        Path::new("spec.toml"),
    )
    .unwrap();
    let docs = docs_of(&[crate::common::fixture("sql/base")], &config);
    assert!(docs["tiny_erp.html"].contains(
        "<link rel=\"canonical\" href=\"https://docs.example.com/connectors/tiny_erp.html\">"
    ));
    let sitemap = &docs["sitemap.xml"];
    assert!(sitemap.contains("<loc>https://docs.example.com/connectors/index.html</loc>"));
    assert!(sitemap.contains("<loc>https://docs.example.com/connectors/tiny_erp.html</loc>"));
    assert!(
        !specs_docs().contains_key("sitemap.xml"),
        "no sitemap without a base URL"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_changelog_comes_from_spec_diff_reports() {
    let dir = project(Some("[docs]\nchangelog = \"changelog\"\n"));
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "v1"]);
    git(dir.path(), &["tag", "v1"]);
    // Release v2: a field renamed (breaking) and a label changed.
    let spec = dir.path().join("specs/tiny_erp.yaml");
    let text = fs::read_to_string(&spec).unwrap();
    let text = text.replacen("key: remark", "key: note", 1).replacen(
        "name: {en: New order, zh: 新订单}",
        "name: {en: New orders, zh: 新订单}",
        1,
    );
    fs::write(&spec, text).unwrap();
    let (code, report, stderr) = spec_in(dir.path(), &["diff", "--from", "v1", "--format", "json"]);
    assert_eq!(code, 0, "{stderr}");
    fs::create_dir_all(dir.path().join("changelog")).unwrap();
    fs::write(dir.path().join("changelog/v2.json"), &report).unwrap();
    // An older release that touched another connector only.
    fs::write(
        dir.path().join("changelog/v1.json"),
        r#"{"from": "v0", "changes": [{"app": "notes", "subject": {"type": "app", "id": 9002}, "change": "added"}], "breaking": []}"#,
    )
    .unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 0, "{stderr}");
    let docs = dir.path().join("generated/docs");
    let html = fs::read_to_string(docs.join("tiny_erp.html")).unwrap();
    let changelog = &html[html
        .find("<section id=\"changelog\">")
        .expect("a changelog section")..];
    assert!(
        changelog.contains("<h3 id=\"release-1\">v2 <small class=\"muted\">"),
        "{changelog}"
    );
    assert!(changelog.contains("input field <code>data.remark</code> of <code>create_count</code>: renamed to <code>data.note</code>"), "{changelog}");
    assert!(
        changelog.contains("<span class=\"badge badge-breaking\">"),
        "{changelog}"
    );
    assert!(
        changelog.contains("trigger <code>new_order</code> (900201): changed (name, name_i18n)"),
        "{changelog}"
    );
    assert!(
        !changelog.contains("release-2"),
        "v1 did not touch tiny_erp: {changelog}"
    );
    assert!(
        !changelog.contains("(900102): changed<"),
        "a bare `changed` says nothing: {changelog}"
    );
    assert!(
        html.contains("<a href=\"#changelog\">"),
        "the table of contents links it"
    );
    let md = fs::read_to_string(docs.join("tiny_erp.md")).unwrap();
    assert!(
        md.contains("## Changelog\n\n### v2 (since v1)\n\n- **breaking**: "),
        "{md}"
    );
    let notes = fs::read_to_string(docs.join("notes.html")).unwrap();
    assert!(notes.contains("<h3 id=\"release-1\">v1"), "{notes}");
    // A file that is not a report fails the build and says how to make one.
    fs::write(dir.path().join("changelog/v3.json"), "{\"changes\": 5}").unwrap();
    let (code, _, stderr) = spec_in(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("changelog/v3.json: not a `spec diff --format json` report"),
        "{stderr}"
    );
}

/// Rendering cost, not a pass/fail timing: docs for 1,000 connectors of
/// 20 actions each (the build benchmark's shape). Run with
/// `cargo test --release -- --ignored docs_for_1000_connectors --nocapture`.
#[test]
#[ignore]
fn docs_for_1000_connectors() {
    let project = spec::validate::validate(&[root().join("specs/jushuitan")]).unwrap();
    let base = project.connectors[0].model.clone();
    let models: Vec<spec::model::Connector> = (0..1000u64)
        .map(|i| {
            let mut m = base.clone();
            m.app.id = 100_000 + i;
            m.app.key = format!("app_{i:04}");
            let action = m.actions[0].clone();
            m.actions = (0..19u64)
                .map(|j| {
                    let mut a = action.clone();
                    a.id = 10_000_000 + i * 100 + j;
                    a.key = format!("action_{j}");
                    a
                })
                .collect();
            m
        })
        .collect();
    let refs: Vec<&spec::model::Connector> = models.iter().collect();
    let config = spec::config::DocsConfig::default();
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let files = spec::codegen::docs::files(&refs, &config).unwrap();
        let bytes: usize = files.iter().map(|f| f.contents.len()).sum();
        eprintln!(
            "docs for 1,000 connectors: {:?} ({} files, {} MB)",
            start.elapsed(),
            files.len(),
            bytes / 1_000_000
        );
    }
}
