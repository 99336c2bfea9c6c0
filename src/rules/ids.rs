//! R001 / R002: platform ids and keys are unique.

use std::collections::BTreeMap;

use super::{Reporter, Subject};
use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::Connector;
use crate::source::Span;

/// App ids, app keys and action/trigger ids are unique across every spec
/// in the run; the first occurrence (in path order) wins, later ones are
/// reported with a pointer back to it.
pub(super) fn check_across(subjects: &[Subject<'_>], out: &mut Vec<Diagnostic>) {
    let mut app_ids: BTreeMap<u64, Span> = BTreeMap::new();
    let mut app_keys: BTreeMap<&str, Span> = BTreeMap::new();
    let mut action_ids: BTreeMap<u64, (Span, String)> = BTreeMap::new();
    for subject in subjects {
        let app = &subject.model.app;
        let id_span = subject.root.value_span("/app/id");
        if let Some(first) = app_ids.get(&app.id) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateAppId,
                    format!("app id {} is already used by another spec", app.id),
                )
                .at(id_span)
                .at_pointer("/app/id")
                .related(*first, "first used here")
                .help("every connector needs its own reserved app id"),
            );
        } else {
            app_ids.insert(app.id, id_span);
        }
        let key_span = subject.root.value_span("/app/key");
        if let Some(first) = app_keys.get(app.key.as_str()) {
            out.push(
                Diagnostic::new(Code::DuplicateAppId, format!("app key `{}` is already used by another spec", app.key))
                    .at(key_span)
                    .at_pointer("/app/key")
                    .related(*first, "first used here")
                    .help("app keys name connectors on the command line and in generated files; choose another"),
            );
        } else {
            app_keys.insert(&app.key, key_span);
        }
        let items = subject
            .model
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("/actions/{i}"), a.id, format!("action `{}`", a.key)))
            .chain(subject.model.triggers.iter().enumerate().map(|(i, t)| {
                (
                    format!("/triggers/{i}"),
                    t.id,
                    format!("trigger `{}`", t.key),
                )
            }));
        for (pointer, id, what) in items {
            let pointer = format!("{pointer}/id");
            let span = subject.root.value_span(&pointer);
            if let Some((first, first_what)) = action_ids.get(&id) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateActionId,
                        format!("id {id} of {what} is already the id of {first_what}"),
                    )
                    .at(span)
                    .at_pointer(pointer)
                    .related(*first, "first used here")
                    .help(
                        "action and trigger ids are the platform's primary keys; reserve a new one",
                    ),
                );
            } else {
                action_ids.insert(id, (span, what));
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
