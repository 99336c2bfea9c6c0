//! R001 / R002: platform ids and keys are unique.

use std::collections::BTreeMap;

use super::Reporter;
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::Connector;
use crate::source::Span;
use crate::yaml::Node;

/// What the cross-connector rules need of one connector: its ids and keys
/// with their spans, so that its located tree need not outlive its own
/// checks.
#[derive(Debug, Clone)]
pub struct Identity {
    app_id: u64,
    id_span: Span,
    app_key: String,
    key_span: Span,
    /// (pointer to the id, id, "action `key`" or "trigger `key`", span).
    items: Vec<(String, u64, String, Span)>,
}

impl Identity {
    pub fn of(root: &Node, model: &Connector) -> Identity {
        let items = model
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("/actions/{i}"), a.id, format!("action `{}`", a.key)))
            .chain(model.triggers.iter().enumerate().map(|(i, t)| {
                (
                    format!("/triggers/{i}"),
                    t.id,
                    format!("trigger `{}`", t.key),
                )
            }))
            .map(|(pointer, id, what)| {
                let pointer = format!("{pointer}/id");
                let span = root.value_span(&pointer);
                (pointer, id, what, span)
            })
            .collect();
        Identity {
            app_id: model.app.id,
            id_span: root.value_span("/app/id"),
            app_key: model.app.key.clone(),
            key_span: root.value_span("/app/key"),
            items,
        }
    }

    /// Moves every span to `file` (the connector's files were numbered on
    /// their own while loading in parallel).
    pub fn shift_files(&mut self, by: u32) {
        for span in [&mut self.id_span, &mut self.key_span]
            .into_iter()
            .chain(self.items.iter_mut().map(|item| &mut item.3))
        {
            span.file.0 += by;
        }
    }
}

/// App ids, app keys and action/trigger ids are unique across every spec
/// in the run; the first occurrence (in path order) wins, later ones are
/// reported with a pointer back to it.
pub(super) fn check_across(identities: &[Identity], out: &mut Vec<Diagnostic>) {
    let mut app_ids: BTreeMap<u64, Span> = BTreeMap::new();
    let mut app_keys: BTreeMap<&str, Span> = BTreeMap::new();
    let mut action_ids: BTreeMap<u64, (Span, &str)> = BTreeMap::new();
    for identity in identities {
        let id_span = identity.id_span;
        if let Some(first) = app_ids.get(&identity.app_id) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateAppId,
                    format!("app id {} is already used by another spec", identity.app_id),
                )
                .at(id_span)
                .at_pointer("/app/id")
                .related(*first, "first used here")
                .help("every connector needs its own reserved app id"),
            );
        } else {
            app_ids.insert(identity.app_id, id_span);
        }
        let key_span = identity.key_span;
        if let Some(first) = app_keys.get(identity.app_key.as_str()) {
            out.push(
                Diagnostic::new(Code::DuplicateAppId, format!("app key `{}` is already used by another spec", identity.app_key))
                    .at(key_span)
                    .at_pointer("/app/key")
                    .related(*first, "first used here")
                    .help("app keys name connectors on the command line and in generated files; choose another"),
            );
        } else {
            app_keys.insert(&identity.app_key, key_span);
        }
        for (pointer, id, what, span) in &identity.items {
            if let Some((first, first_what)) = action_ids.get(id) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateActionId,
                        format!("id {id} of {what} is already the id of {first_what}"),
                    )
                    .at(*span)
                    .at_pointer(pointer.clone())
                    .related(*first, "first used here")
                    .help(
                        "action and trigger ids are the platform's primary keys; reserve a new one",
                    ),
                );
            } else {
                action_ids.insert(*id, (*span, what));
            }
        }
    }
}

/// Action and trigger keys are unique within a connector (they share the
/// command line namespace: `spec exec action jushuitan <key>`).
pub(super) fn check_keys(model: &Connector, reporter: &mut Reporter<'_>) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    let items = model
        .actions
        .iter()
        .enumerate()
        .map(|(i, a)| (format!("/actions/{i}/key"), a.key.as_str()))
        .chain(
            model
                .triggers
                .iter()
                .enumerate()
                .map(|(i, t)| (format!("/triggers/{i}/key"), t.key.as_str())),
        );
    for (pointer, key) in items {
        if let Some(first) = seen.get(key) {
            let first_span = reporter.root.value_span(first);
            reporter.out.push(
                Diagnostic::new(
                    Code::DuplicateActionId,
                    format!("key `{key}` is used by more than one action or trigger"),
                )
                .at(reporter.root.value_span(&pointer))
                .at_pointer(pointer)
                .related(first_span, "first used here")
                .help("rename one of them; keys are how actions are named on the command line"),
            );
        } else {
            seen.insert(key, pointer);
        }
    }
}
