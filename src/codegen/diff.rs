//! Row-level differences between two [`Tables`]: which rows to insert,
//! update and delete to turn one into the other.
//!
//! `spec diff` compares the rows of the old specs with the rows of the new
//! ones; `spec apply --check` will compare rows read from a database with
//! the rows of the specs. Both render the result with
//! [`super::sql::delta`].

use super::rows::{Row, Tables};
use super::tables::Table;

/// A row present on both sides whose values differ.
#[derive(Debug, Clone)]
pub struct Update<'a> {
    pub old: &'a Row,
    pub new: &'a Row,
    /// Positions of the columns that differ (never a key column: rows are
    /// matched by primary key).
    pub changed: Vec<usize>,
}

impl Update<'_> {
    pub fn changed_columns(&self, table: &Table) -> Vec<&'static str> {
        self.changed
            .iter()
            .map(|&i| table.columns[i].name)
            .collect()
    }
}

/// What changes in one table, each list in primary-key order.
#[derive(Debug, Clone)]
pub struct TableDelta<'a> {
    pub table: &'static Table,
    pub deleted: Vec<&'a Row>,
    pub inserted: Vec<&'a Row>,
    pub updated: Vec<Update<'a>>,
}

impl TableDelta<'_> {
    pub fn is_empty(&self) -> bool {
        self.deleted.is_empty() && self.inserted.is_empty() && self.updated.is_empty()
    }
}

/// What changes in every table, in [`super::tables::TABLES`] order.
#[derive(Debug, Clone)]
pub struct Delta<'a> {
    pub tables: Vec<TableDelta<'a>>,
}

impl<'a> Delta<'a> {
    /// The same delta without its new rows (for loading them apart).
    pub fn without_inserts(&self) -> Delta<'a> {
        Delta {
            tables: self
                .tables
                .iter()
                .map(|t| TableDelta {
                    table: t.table,
                    deleted: t.deleted.clone(),
                    inserted: Vec::new(),
                    updated: t.updated.clone(),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.tables.iter().all(TableDelta::is_empty)
    }

    /// (inserted, updated, deleted) over all tables.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.tables.iter().fold((0, 0, 0), |(i, u, d), t| {
            (
                i + t.inserted.len(),
                u + t.updated.len(),
                d + t.deleted.len(),
            )
        })
    }
}

/// The rows to insert, update and delete so that `old` becomes `new`.
pub fn delta<'a>(old: &'a Tables, new: &'a Tables) -> Delta<'a> {
    let tables = old
        .tables
        .iter()
        .zip(&new.tables)
        .map(|(old, new)| {
            debug_assert_eq!(old.table.name, new.table.name);
            let mut delta = TableDelta {
                table: new.table,
                deleted: Vec::new(),
                inserted: Vec::new(),
                updated: Vec::new(),
            };
            for (key, old_row) in &old.rows {
                match new.rows.get(key) {
                    None => delta.deleted.push(old_row),
                    Some(new_row) if new_row != old_row => {
                        let changed = (0..old_row.0.len())
                            .filter(|&i| old_row.0[i] != new_row.0[i])
                            .collect();
                        delta.updated.push(Update {
                            old: old_row,
                            new: new_row,
                            changed,
                        });
                    }
                    Some(_) => {}
                }
            }
            delta.inserted = new
                .rows
                .iter()
                .filter(|(key, _)| !old.rows.contains_key(*key))
                .map(|(_, row)| row)
                .collect();
            delta
        })
        .collect();
    Delta { tables }
}
