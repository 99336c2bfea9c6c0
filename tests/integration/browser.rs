//! The docs site in a real browser: headless Chromium loads the site built
//! from specs/ straight from disk (`file://`, as a user opening
//! `generated/docs/index.html` would) and the tests read what it rendered.
//!
//! - `--dump-dom` gives the DOM after the page's script ran: the index's
//!   search and filters are driven by the URL (`?q=jush`), so a dump shows
//!   which cards are left.
//! - Layout and links are checked by a small harness page (written by the
//!   test next to the site, never part of it) that loads each page in an
//!   iframe — Chromium runs with `--allow-file-access-from-files` so it may
//!   look inside — and writes what it found as JSON into its own DOM.
//! - Screenshots of the index and the Jushuitan page go to
//!   `tests/output/screenshots/` for a reviewer to look at.
//!
//! Without Chromium the tests print "skipped: chromium not installed" and
//! pass, so `cargo test` works on a bare machine; with `CI` set or
//! `SPEC_TEST_REQUIRE_SERVICES=1` a missing Chromium fails them. `.ci/run`
//! installs Debian's `chromium`. `SPEC_CHROMIUM` names another binary.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{HANG_GUARD, root};

/// The built site, or why there is none (Chromium missing).
struct Site {
    chromium: PathBuf,
    /// `tests/output/browser`: `site/` (the docs) and `harness/`.
    dir: PathBuf,
    /// App keys of every connector in specs/.
    keys: Vec<String>,
}

impl Site {
    fn docs(&self) -> PathBuf {
        self.dir.join("site")
    }

    /// The URL of `page`, which may end in a query (`index.html?q=jush`).
    fn url(&self, page: &str) -> String {
        let (file, query) = page
            .split_once('?')
            .map_or((page, None), |(f, q)| (f, Some(q)));
        let url = file_url(&self.docs().join(file));
        match query {
            Some(query) => format!("{url}?{query}"),
            None => url,
        }
    }
}

fn file_url(path: &Path) -> String {
    let path = path.to_string_lossy().replace('\\', "/");
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    // Only characters a checkout path may hold need escaping here.
    let escaped = path
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('#', "%23");
    format!("file://{escaped}")
}

fn chromium_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SPEC_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let names = ["chromium", "chromium-browser", "google-chrome", "chrome"];
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// CI (or a developer who asks) must not skip the browser tests silently.
fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("SPEC_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The site, built once for all browser tests; `None` (after printing why)
/// when Chromium is not installed and not required.
fn site() -> Option<&'static Site> {
    static SITE: OnceLock<Option<Site>> = OnceLock::new();
    SITE.get_or_init(|| {
        let Some(chromium) = chromium_binary() else {
            assert!(
                !required(),
                "chromium is not installed, and CI or SPEC_TEST_REQUIRE_SERVICES=1 requires the browser tests: \
                 `apt-get install chromium` (or set SPEC_CHROMIUM to a Chromium binary)"
            );
            return None;
        };
        let dir = root().join("tests/output/browser");
        let _ = fs::remove_dir_all(&dir);
        let project = spec::validate::validate(&[root().join("specs")]).expect("specs/ is readable");
        assert!(!project.has_errors(), "specs/ must validate");
        let build = spec::codegen::build(&project.connectors).expect("specs/ builds");
        for file in &build.files {
            if let Ok(rest) = file.path.strip_prefix("docs") {
                let target = dir.join("site").join(rest);
                fs::create_dir_all(target.parent().unwrap()).unwrap();
                fs::write(&target, &file.contents).unwrap();
            }
        }
        let mut keys: Vec<String> = project.connectors.iter().map(|c| c.model.app.key.clone()).collect();
        keys.sort();
        Some(Site { chromium, dir, keys })
    })
    .as_ref()
    .or_else(|| {
        eprintln!("skipped: chromium not installed");
        None
    })
}

/// Runs headless Chromium on `url` with `args`; returns what it printed on
/// stdout. Flags: no sandbox (tests may run as root), and no background
/// networking, which this machine's closed network would refuse.
fn chromium(site: &Site, args: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(&site.chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--lang=en-US",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", site.chromium.display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium hung on {url}:\n{}", err.join().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    assert!(
        status.success(),
        "chromium failed on {url} ({status}):\n{stderr}"
    );
    stdout
}

/// The DOM of `page` (with its query) after its script ran.
fn dom(site: &Site, page: &str) -> String {
    let dom = chromium(
        site,
        &["--virtual-time-budget=5000", "--dump-dom"],
        &site.url(page),
    );
    assert!(dom.contains("</html>"), "no DOM for {page}: {dom}");
    dom
}

/// Every connector card on the index: (key, visible).
fn cards(dom: &str) -> Vec<(String, bool)> {
    let mut cards = Vec::new();
    let mut rest = dom;
    while let Some(start) = rest.find("<li class=\"card\"") {
        let tag_end = rest[start..].find('>').unwrap() + start;
        let tag = &rest[start..tag_end];
        let key = tag
            .split("data-key=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        cards.push((key, !tag.contains(" hidden")));
        rest = &rest[tag_end..];
    }
    cards
}

fn visible(dom: &str) -> Vec<String> {
    cards(dom)
        .into_iter()
        .filter(|(_, v)| *v)
        .map(|(k, _)| k)
        .collect()
}

/// The text of the element with `id` (no markup inside), e.g. `shown`.
fn text_of(dom: &str, id: &str) -> String {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let open = dom[start..].find('>').unwrap() + start + 1;
    let close = dom[open..].find('<').unwrap() + open;
    dom[open..close].to_string()
}

#[test]
fn browser_index_lists_every_connector_and_search_narrows_it() {
    let Some(site) = site() else { return };
    let all = dom(site, "index.html");
    assert_eq!(
        cards(&all)
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        site.keys,
        "the index lists every connector in specs/, sorted by key"
    );
    assert_eq!(
        visible(&all),
        site.keys,
        "without a search every card shows"
    );
    assert_eq!(text_of(&all, "shown"), site.keys.len().to_string());
    assert_eq!(text_of(&all, "total"), site.keys.len().to_string());
    // The script ran and set up the page.
    assert!(all.contains("data-ready=\"true\""), "app.js did not run");

    let cases: &[(&str, &[&str])] = &[
        ("index.html?q=jush", &["jushuitan"]),
        // Names match in every language, whichever is shown.
        ("index.html?q=%E9%92%89%E9%92%89", &["dingtalk"]), // 钉钉
        // Action names are searched too; terms must all match.
        ("index.html?q=create+record", &["vika"]),
        ("index.html?category=productivity", &["onenote", "vika"]),
        ("index.html?auth=signature", &["dingtalk", "jushuitan"]),
        ("index.html?auth=signature&q=robot", &["dingtalk"]),
        ("index.html?q=no-such-connector", &[]),
    ];
    for (page, expected) in cases {
        let dom = dom(site, page);
        assert_eq!(visible(&dom), *expected, "{page}");
        assert_eq!(text_of(&dom, "shown"), expected.len().to_string(), "{page}");
        let empty_hidden =
            dom.contains("id=\"empty\" hidden") || dom.contains("hidden=\"\" id=\"empty\"");
        assert_eq!(
            empty_hidden,
            !expected.is_empty(),
            "{page}: the no-results message shows exactly when nothing matches"
        );
    }
    // The search box shows the search the URL asked for.
    let dom = dom(site, "index.html?q=jush");
    let input = &dom[dom.find("id=\"q\"").unwrap()..];
    assert!(
        input[..input.find('>').unwrap()].contains("value=\"jush\"") || dom.contains("jush"),
        "{input}"
    );
}

/// The harness page: loads `pages` one by one in an iframe and reports,
/// per page, its ids, its links to files, whether its script ran and its
/// stylesheet applied, and the checks in `extra` (JS statements that may
/// set `out.<name>` with `doc` being the page's document, `page` its name).
fn harness(site: &Site, name: &str, pages: &[String], extra: &str) -> Value {
    let dir = site.dir.join("harness");
    fs::create_dir_all(&dir).unwrap();
    let html = format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body>
<pre id="result">pending</pre>
<iframe id="frame" style="width:1280px;height:900px;border:0"></iframe>
<script>
const pages = {pages};
const frame = document.getElementById('frame');
function load(url) {{
  return new Promise((resolve) => {{
    const timer = setTimeout(() => resolve(null), 4000);
    frame.onload = () => {{ clearTimeout(timer); resolve(frame.contentDocument); }};
    frame.src = url;
  }});
}}
(async () => {{
  const result = {{ pages: {{}}, checks: {{}} }};
  for (const page of pages) {{
    const out = {{}};
    try {{
      const doc = await load('../site/' + page);
      if (!doc || !doc.documentElement) {{ out.error = 'did not load'; result.pages[page] = out; continue; }}
      out.ids = Array.from(doc.querySelectorAll('[id]'), (e) => e.id);
      out.links = [];
      for (const e of doc.querySelectorAll('a[href], link[href], script[src], img[src]')) {{
        const raw = e.getAttribute('href') || e.getAttribute('src');
        const url = new URL(raw, doc.baseURI);
        if (url.protocol !== 'file:') continue;
        out.links.push({{ raw, file: url.pathname.split('/site/').pop(), hash: decodeURIComponent(url.hash.slice(1)) }});
      }}
      out.ready = doc.documentElement.getAttribute('data-ready');
      out.css_rules = Array.from(doc.styleSheets).reduce((n, s) => n + s.cssRules.length, 0);
      out.lang = doc.documentElement.getAttribute('data-lang');
      {extra}
    }} catch (e) {{ out.error = String(e && e.stack || e); }}
    result.pages[page] = out;
  }}
  document.getElementById('result').textContent = JSON.stringify(result);
}})();
</script>
</body></html>
"#,
        pages = serde_json::to_string(pages).unwrap()
    );
    let path = dir.join(format!("{name}.html"));
    fs::write(&path, html).unwrap();
    let dom = chromium(
        site,
        &[
            "--allow-file-access-from-files",
            "--virtual-time-budget=30000",
            "--dump-dom",
        ],
        &file_url(&path),
    );
    let start =
        dom.find("<pre id=\"result\">").expect("harness result") + "<pre id=\"result\">".len();
    let end = dom[start..].find("</pre>").unwrap() + start;
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("harness {name} reported {json:?}: {e}"))
}

fn html_pages(site: &Site) -> Vec<String> {
    let mut pages: Vec<String> = fs::read_dir(site.docs())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".html"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn browser_no_internal_link_is_broken() {
    let Some(site) = site() else { return };
    let pages = html_pages(site);
    let mut expected: Vec<String> = site.keys.iter().map(|k| format!("{k}.html")).collect();
    expected.extend(["index.html".to_string(), "tables.html".to_string()]);
    expected.sort();
    assert_eq!(
        pages, expected,
        "one page per connector, the index and the tables page"
    );
    let report = harness(site, "links", &pages, "");
    let mut files: BTreeSet<String> = BTreeSet::new();
    for entry in walk(&site.docs()) {
        files.insert(entry);
    }
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let info = &report["pages"][page];
        assert!(info.get("error").is_none(), "{page}: {}", info["error"]);
        assert_eq!(info["ready"], "true", "{page}: the script did not run");
        assert!(
            info["css_rules"].as_u64().unwrap_or(0) > 50,
            "{page}: the stylesheet did not load"
        );
        for link in info["links"].as_array().unwrap() {
            checked += 1;
            let file = link["file"].as_str().unwrap();
            let hash = link["hash"].as_str().unwrap();
            let target = if file.is_empty() { page.as_str() } else { file };
            if !files.contains(target) {
                broken.push(format!("{page}: {} (no file {target})", link["raw"]));
                continue;
            }
            if !hash.is_empty() {
                let ids = report["pages"][target]["ids"].as_array();
                if !ids.is_some_and(|ids| ids.iter().any(|id| id == hash)) {
                    broken.push(format!("{page}: {} (no #{hash} in {target})", link["raw"]));
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} links were checked");
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// Files under `dir`, relative, `/`-separated.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.extend(walk(&path).into_iter().map(|f| format!("{name}/{f}")));
        } else {
            out.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn browser_connector_page_shows_nested_group_fields_nested() {
    let Some(site) = site() else { return };
    // Jushuitan's inventory count: `items` is a repeating group holding
    // `sku_id`, `qty`, ...; the order trigger's output nests `items` too.
    let checks = r#"
      const at = (id) => doc.getElementById(id);
      const box = (e) => e.getBoundingClientRect();
      const shown = (e) => !!e && e.getClientRects().length > 0;
      out.nested = [];
      for (const [group, child] of [
        ['action-create_inventory_count-input-items', 'action-create_inventory_count-input-items.sku_id'],
        ['action-create_inventory_count-input-items', 'action-create_inventory_count-input-items.qty'],
        ['trigger-new_order-output-items', 'trigger-new_order-output-items.sku_id'],
        ['trigger-new_order-output-pays', 'trigger-new_order-output-pays.amount'],
      ]) {
        const g = at(group), c = at(child);
        const holder = g && g.nextElementSibling;
        out.nested.push({
          group, child,
          found: !!g && !!c,
          visible: shown(g) && shown(c),
          // The child's row is inside the table nested in the row after the group's.
          inside: !!holder && holder.classList.contains('children') && holder.contains(c) && !g.contains(c),
          indent: g && c ? box(c.querySelector('code')).left - box(g.querySelector('code')).left : null,
          group_type: g ? g.querySelector('.f-type').innerText : null,
        });
      }
      // A top-level sibling of the group is not nested.
      const so = at('action-create_inventory_count-input-so_id');
      out.top_level_indent = so ? box(so.querySelector('code')).left - box(at('action-create_inventory_count-input-items').querySelector('code')).left : null;
      out.h1 = doc.querySelector('h1').innerText;
      out.height = doc.documentElement.scrollHeight;
    "#;
    let report = harness(site, "nested", &["jushuitan.html".to_string()], checks);
    let page = &report["pages"]["jushuitan.html"];
    assert!(page.get("error").is_none(), "{}", page["error"]);
    assert_eq!(page["h1"], "Jushuitan ERP");
    for check in page["nested"].as_array().unwrap() {
        assert_eq!(check["found"], true, "{check}");
        assert_eq!(check["visible"], true, "{check}");
        assert_eq!(check["inside"], true, "not nested: {check}");
        assert!(
            check["indent"].as_f64().unwrap() >= 12.0,
            "not indented: {check}"
        );
        assert!(
            check["group_type"].as_str().unwrap().starts_with("group"),
            "{check}"
        );
    }
    assert_eq!(page["top_level_indent"].as_f64(), Some(0.0), "{page}");
}

#[test]
fn browser_language_switch_shows_one_language_and_remembers_it() {
    let Some(site) = site() else { return };
    let checks = r#"
      const name = () => doc.querySelector('#app-jushuitan h2').innerText.trim();
      const text = (sel) => doc.querySelector(sel).innerText.trim();
      if (page.startsWith('index.html')) {
        out.name = name();
        out.nav = text('.topnav a');
        out.placeholder = doc.getElementById('q').getAttribute('placeholder');
        out.option = text('#auth option');
        if (page === 'index.html') {
          // Switching remembers the choice for the next page.
          doc.querySelector('[data-set-lang="zh"]').click();
          out.after_click = name();
          out.pressed = doc.querySelector('[data-set-lang="zh"]').getAttribute('aria-pressed');
        }
      } else {
        out.h1 = text('h1');
        out.field_label = text('#action-create_inventory_count-input-so_id .f-label');
      }
    "#;
    let pages: Vec<String> = ["index.html", "jushuitan.html", "index.html?lang=en"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let report = harness(site, "language", &pages, checks);
    let p = &report["pages"];
    // Default: English, and only English is shown.
    assert_eq!(p["index.html"]["lang"], "en", "{p}");
    assert_eq!(p["index.html"]["name"], "Jushuitan ERP", "{p}");
    assert_eq!(p["index.html"]["nav"], "Connectors", "{p}");
    // After a click on 中文: Chinese only, page chrome included.
    assert_eq!(p["index.html"]["after_click"], "聚水潭", "{p}");
    assert_eq!(p["index.html"]["pressed"], "true", "{p}");
    // The next page opens in Chinese (localStorage).
    assert_eq!(p["jushuitan.html"]["lang"], "zh", "{p}");
    assert_eq!(p["jushuitan.html"]["h1"], "聚水潭", "{p}");
    assert_eq!(p["jushuitan.html"]["field_label"], "外部单号", "{p}");
    // `?lang=en` wins over the remembered choice, texts without markup too.
    let en = &p["index.html?lang=en"];
    assert_eq!(en["name"], "Jushuitan ERP", "{p}");
    assert_eq!(en["placeholder"], "Search by name, key or action…", "{p}");
    assert_eq!(en["option"], "All authentication types", "{p}");
    let zh = dom(site, "index.html?lang=zh");
    assert!(
        zh.contains("data-lang=\"zh\""),
        "?lang=zh switches the page"
    );
    assert!(
        zh.contains("placeholder=\"按名称、标识或动作搜索…\""),
        "placeholder in Chinese"
    );
}

#[test]
fn browser_screenshots() {
    let Some(site) = site() else { return };
    let shots = root().join("tests/output/screenshots");
    fs::create_dir_all(&shots).unwrap();
    // The full height of the Jushuitan page, for one screenshot of all of it.
    let report = harness(
        site,
        "height",
        &["jushuitan.html".to_string()],
        "out.height = doc.documentElement.scrollHeight;",
    );
    let height = report["pages"]["jushuitan.html"]["height"]
        .as_u64()
        .unwrap_or(6000)
        .clamp(900, 16000);
    // A viewer page that shows the Jushuitan page scrolled to the nested
    // input fields (headless screenshots ignore a URL's #fragment).
    let viewer = site.dir.join("harness/fields.html");
    fs::write(
        &viewer,
        "<!DOCTYPE html><html><body style=\"margin:0\"><iframe src=\"../site/jushuitan.html#action-create_inventory_count-input\" \
         style=\"border:0;width:1280px;height:1500px\"></iframe></body></html>\n",
    )
    .unwrap();
    let jobs: Vec<(&str, String, String)> = vec![
        ("index.png", site.url("index.html"), "1280,900".into()),
        (
            "index-search.png",
            format!("{}?q=order", site.url("index.html")),
            "1280,900".into(),
        ),
        (
            "index-zh.png",
            format!("{}?lang=zh", site.url("index.html")),
            "1280,900".into(),
        ),
        (
            "jushuitan.png",
            site.url("jushuitan.html"),
            format!("1280,{height}"),
        ),
        (
            "jushuitan-fields.png",
            file_url(&viewer),
            "1280,1500".into(),
        ),
        (
            "jushuitan-zh.png",
            format!("{}?lang=zh", site.url("jushuitan.html")),
            "1280,1400".into(),
        ),
        ("tables.png", site.url("tables.html"), "1280,1400".into()),
    ];
    for (name, url, size) in jobs {
        let path = shots.join(name);
        let _ = fs::remove_file(&path);
        chromium(
            site,
            &[
                &format!("--screenshot={}", path.display()),
                &format!("--window-size={size}"),
                "--virtual-time-budget=3000",
            ],
            &url,
        );
        let bytes = fs::read(&path).unwrap_or_else(|e| panic!("no screenshot {name}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{name} is not a PNG");
        assert!(
            bytes.len() > 20_000,
            "{name} looks blank ({} bytes)",
            bytes.len()
        );
        eprintln!("screenshot: {}", path.display());
    }
}
