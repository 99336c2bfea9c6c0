//! What differs between the SQL dialects: literals, column types, upserts
//! and transaction statements. Everything else is shared text.

use super::rows::SqlValue;
use super::tables::{ColumnType, Table};

/// A target database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Dialect {
    /// MySQL 5.7+ and MariaDB 10.3+.
    Mysql,
    /// PostgreSQL 9.5+.
    Postgres,
    /// SQLite 3.24+.
    Sqlite,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Mysql, Dialect::Postgres, Dialect::Sqlite];

    /// The directory name under `generated/sql/` and the `--dialect` value.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Mysql => "mysql",
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// For headers: which databases the file is for.
    pub fn title(self) -> &'static str {
        match self {
            Dialect::Mysql => "MySQL / MariaDB",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Sqlite => "SQLite",
        }
    }

    /// Session settings that make the literals unambiguous, run before the
    /// transaction.
    ///
    /// MySQL treats a backslash in a string literal as an escape unless the
    /// server runs with `NO_BACKSLASH_ESCAPES`; the seed escapes backslashes,
    /// so it switches that mode off for its session, and sends utf8mb4 so
    /// emoji survive. PostgreSQL reads backslashes literally only with
    /// `standard_conforming_strings` on (the default since 9.1).
    pub fn session_setup(self) -> &'static [&'static str] {
        match self {
            Dialect::Mysql => &[
                "SET NAMES utf8mb4",
                "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')",
            ],
            Dialect::Postgres => &[
                "SET client_encoding = 'UTF8'",
                "SET standard_conforming_strings = on",
            ],
            Dialect::Sqlite => &[],
        }
    }

    pub fn begin(self) -> &'static str {
        match self {
            Dialect::Mysql => "START TRANSACTION",
            Dialect::Postgres | Dialect::Sqlite => "BEGIN",
        }
    }

    /// Whether DDL can run inside a transaction. MySQL commits implicitly
    /// before and after every `CREATE TABLE`.
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Dialect::Mysql)
    }

    pub fn column_type(self, ty: ColumnType) -> String {
        match (self, ty) {
            (Dialect::Sqlite, ColumnType::Int) => "INTEGER".into(),
            (_, ColumnType::Int) => "BIGINT".into(),
            (Dialect::Sqlite, ColumnType::Key(_)) => "TEXT".into(),
            (_, ColumnType::Key(n)) => format!("VARCHAR({n})"),
            (Dialect::Mysql, ColumnType::Text) => "MEDIUMTEXT".into(),
            (_, ColumnType::Text) => "TEXT".into(),
        }
    }

    /// Options after a `CREATE TABLE (...)`.
    pub fn table_options(self) -> &'static str {
        match self {
            Dialect::Mysql => " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            Dialect::Postgres | Dialect::Sqlite => "",
        }
    }

    /// Appends `value` as a literal.
    pub fn literal(self, value: &SqlValue, out: &mut String) {
        match value {
            SqlValue::Null => out.push_str("NULL"),
            // Not `write!`: the formatting machinery costs more than the
            // digits, and a seed has hundreds of thousands of ids.
            SqlValue::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
            SqlValue::Text(s) => self.string(s, out),
        }
    }

    /// Appends a string literal. Single quotes are doubled in every dialect;
    /// MySQL also doubles backslashes (see [`Dialect::session_setup`]).
    /// Newlines, tabs and every other character stay as they are: all three
    /// databases take them literally inside quotes. NUL never gets here (the
    /// row model rejects it).
    pub fn string(self, s: &str, out: &mut String) {
        self.string_noting_backslash(s, out);
    }

    /// [`Dialect::string`], telling whether `s` holds a backslash (then
    /// MySQL's literal differs from the other dialects'). One scan does
    /// both, so a seed need not search its texts for backslashes again.
    pub fn string_noting_backslash(self, s: &str, out: &mut String) -> bool {
        out.reserve(s.len() + 2);
        out.push('\'');
        // Both special characters are ASCII, and an ASCII byte is never part
        // of a multi-byte UTF-8 character: copy the runs between them whole.
        // memchr skips the long runs without either many bytes at a time.
        let bytes = s.as_bytes();
        // Most texts are short and plain: a scan of their few bytes costs
        // less than a call of memchr.
        if bytes.len() <= 16 && !bytes.iter().any(|&b| b == b'\'' || b == b'\\') {
            out.push_str(s);
            out.push('\'');
            return false;
        }
        let mut backslash = false;
        // `run`: where the text not yet copied starts; `from`: where the
        // search goes on (past a backslash kept as it is, the run goes on).
        let (mut run, mut from) = (0, 0);
        while let Some(offset) = memchr::memchr2(b'\'', b'\\', &bytes[from..]) {
            let i = from + offset;
            from = i + 1;
            let double = bytes[i] == b'\'' || {
                backslash = true;
                self == Dialect::Mysql
            };
            if double {
                out.push_str(&s[run..from]);
                out.push(char::from(bytes[i]));
                run = from;
            }
        }
        out.push_str(&s[run..]);
        out.push('\'');
        backslash
    }

    /// The clause that turns an `INSERT` of whole rows of `table` into an
    /// upsert keyed by its primary key: every other column is overwritten.
    ///
    /// MySQL's `VALUES(c)` is deprecated in 8.0.20 in favour of a row alias,
    /// which MariaDB does not have; `VALUES(c)` works on both.
    pub fn upsert_clause(self, table: &Table) -> String {
        let others: Vec<&str> = table
            .columns
            .iter()
            .map(|c| c.name)
            .filter(|c| !table.is_key(c))
            .collect();
        match self {
            Dialect::Mysql => {
                let sets: Vec<String> = others
                    .iter()
                    .map(|c| format!("{c} = VALUES({c})"))
                    .collect();
                format!("ON DUPLICATE KEY UPDATE {}", sets.join(", "))
            }
            Dialect::Postgres | Dialect::Sqlite => {
                let sets: Vec<String> = others
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                format!(
                    "ON CONFLICT ({}) DO UPDATE SET {}",
                    table.primary_key.join(", "),
                    sets.join(", ")
                )
            }
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(d: Dialect, s: &str) -> String {
        let mut out = String::new();
        d.string(s, &mut out);
        out
    }

    /// Reads a literal back the way each database does, so the tests check
    /// a round trip rather than restate the escaping rule.
    fn unquote(d: Dialect, lit: &str) -> String {
        let inner = lit
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
            .expect("quoted");
        let mut out = String::new();
        let mut chars = inner.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    assert_eq!(
                        chars.next(),
                        Some('\''),
                        "a lone quote ends the literal early: {lit}"
                    );
                    out.push('\'');
                }
                '\\' if d == Dialect::Mysql => match chars.next() {
                    Some('\\') => out.push('\\'),
                    other => panic!("MySQL would read `\\{other:?}` as an escape: {lit}"),
                },
                c => out.push(c),
            }
        }
        out
    }

    const ADVERSARIAL: &[&str] = &[
        "",
        "it's",
        "''",
        "back\\slash",
        "\\'",
        "\\",
        "ends with backslash\\",
        "'; DROP TABLE apps; --",
        "line\nbreak\r\nand\ttab",
        "聚水潭 仓库 🚀 👩‍👩‍👧",
        "%_ \\% \\_ LIKE wildcards",
        "$$ dollar $tag$ quoting",
        "/* comment */ -- comment",
        "\u{1}\u{7f}\u{2028}",
    ];

    #[test]
    fn adversarial_strings_round_trip_in_every_dialect() {
        for d in Dialect::ALL {
            for s in ADVERSARIAL {
                let l = lit(d, s);
                assert_eq!(&unquote(d, &l), s, "{d}: {l}");
            }
        }
    }

    #[test]
    fn escaping_is_exactly_as_documented() {
        assert_eq!(lit(Dialect::Mysql, "a'b\\c"), "'a''b\\\\c'");
        assert_eq!(lit(Dialect::Postgres, "a'b\\c"), "'a''b\\c'");
        assert_eq!(lit(Dialect::Sqlite, "a'b\\c"), "'a''b\\c'");
        assert_eq!(lit(Dialect::Mysql, "\\'"), "'\\\\'''");
        assert_eq!(lit(Dialect::Sqlite, "x\ny"), "'x\ny'");
    }

    #[test]
    fn long_text_is_kept_whole() {
        let long: String = "长文本 with 'quotes' and \\ ".repeat(4000);
        assert!(long.len() > 100 * 1024);
        for d in Dialect::ALL {
            assert_eq!(unquote(d, &lit(d, &long)), long);
        }
    }

    #[test]
    fn literals_of_every_kind() {
        let mut out = String::new();
        for v in [
            SqlValue::Null,
            SqlValue::Int(-42),
            SqlValue::Text("x".into()),
        ] {
            Dialect::Postgres.literal(&v, &mut out);
            out.push(' ');
        }
        assert_eq!(out, "NULL -42 'x' ");
    }
}
