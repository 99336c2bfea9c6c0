//! The views ([`super::view`]) as template values, without serializing
//! them.
//!
//! Templates read a view's keys many times per action (`op.anchor`,
//! `op.request.url`, ...). A serialized struct is a list of keys searched
//! one after the other; these objects find a key by a `match` on it, and
//! hold every value ready, so a read is a clone of a reference. What a
//! template sees is what it saw of the serialized view: the same keys in
//! the same order with the same values (parts read rarely are still
//! serialized, as before), so `|tojson`, `|items` and loops over a view are
//! unchanged.

use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, Serde, Value};
use serde::Serialize;

use super::view::{BodyView, ConnectorView, OperationView, RequestView, ResponseView};
use crate::model::Text;

/// Declares a struct of template values, one per key (in order), and its
/// [`Object`] implementation.
macro_rules! object {
    ($(#[$meta:meta])* $name:ident { $($key:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug)]
        pub struct $name {
            $(pub $key: Value,)*
        }

        impl $name {
            pub const KEYS: &'static [&'static str] = &[$(stringify!($key)),*];
        }

        impl Object for $name {
            fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
                self.get_value_by_str(key.as_str()?)
            }

            fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
                Some(match key {
                    $(stringify!($key) => self.$key.clone(),)*
                    _ => return None,
                })
            }

            fn enumerate(self: &Arc<Self>) -> Enumerator {
                Enumerator::Str(Self::KEYS)
            }

            fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
                Some(Self::KEYS.len())
            }
        }
    };
}

pub(crate) use object;

/// `value` as serializing it makes it.
fn ser<T: Serialize + ?Sized>(value: &T) -> Value {
    Value::from(Serde(value))
}

/// A list as serializing it makes it: empty ones, the most common, without
/// going through serde, and all one value (a list is never changed, and
/// every action has a few empty ones).
fn list<T: Serialize>(items: &[T]) -> Value {
    static EMPTY: LazyLock<Value> = LazyLock::new(|| Value::from_object(Vec::<Value>::new()));
    if items.is_empty() {
        EMPTY.clone()
    } else {
        ser(items)
    }
}

/// A text as serializing it makes it (a string, or a map of language tag
/// to string), without going through serde: every action has a name and
/// most a description.
fn text(text: &Text) -> Value {
    match text {
        Text::Plain(s) => Value::from(s.as_str()),
        Text::Localized(texts) => Value::from_object(
            texts
                .iter()
                .map(|(tag, text)| (Value::from(tag.as_str()), Value::from(text.as_str())))
                .collect::<IndexMap<Value, Value>>(),
        ),
    }
}

fn opt_text(value: Option<&Text>) -> Value {
    value.map_or(Value::from(()), text)
}

fn opt_str(value: Option<&str>) -> Value {
    value.map_or(Value::from(()), Value::from)
}

object!(
    /// A [`ConnectorView`] as templates see it.
    ConnectorObject {
        id,
        key,
        name,
        description,
        category,
        icon,
        base_url,
        homepage,
        docs_url,
        languages,
        auth,
        connection,
        config,
        actions,
        triggers,
        changelog,
    }
);

object!(
    /// A [`RequestView`] as templates see it.
    RequestObject {
        method,
        path,
        url,
        query,
        headers,
        body,
    }
);

object!(
    /// A [`BodyView`] as templates see it.
    BodyObject {
        kind,
        content_type,
        fields,
        content,
    }
);

object!(
    /// A [`ResponseView`] as templates see it.
    ResponseObject {
        success_status,
        success_when,
        error_code,
        error_message,
        request_id,
    }
);

/// An [`OperationView`] as templates see it: `input` and `output` are keys
/// only when present (as they are serialized).
#[derive(Debug)]
pub struct OperationObject {
    kind: Value,
    id: Value,
    key: Value,
    anchor: Value,
    name: Value,
    description: Value,
    is_end: Value,
    retry_safe: Value,
    request: Value,
    response: Value,
    result: Value,
    records: Value,
    pagination: Value,
    dedupe: Value,
    dedupe_window: Value,
    order: Value,
    cursor: Value,
    input_table: Value,
    output_table: Value,
    input_md: Value,
    output_md: Value,
    input: Option<Value>,
    output: Option<Value>,
    sample: Value,
    example: Value,
}

impl OperationObject {
    const KEYS: &'static [&'static str] = &[
        "kind",
        "id",
        "key",
        "anchor",
        "name",
        "description",
        "is_end",
        "retry_safe",
        "request",
        "response",
        "result",
        "records",
        "pagination",
        "dedupe",
        "dedupe_window",
        "order",
        "cursor",
        "input_table",
        "output_table",
        "input_md",
        "output_md",
        "input",
        "output",
        "sample",
        "example",
    ];

    /// The keys present, in order.
    fn keys(&self) -> impl Iterator<Item = &'static str> + '_ {
        Self::KEYS.iter().copied().filter(|k| match *k {
            "input" => self.input.is_some(),
            "output" => self.output.is_some(),
            _ => true,
        })
    }
}

impl Object for OperationObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        Some(match key {
            "kind" => self.kind.clone(),
            "id" => self.id.clone(),
            "key" => self.key.clone(),
            "anchor" => self.anchor.clone(),
            "name" => self.name.clone(),
            "description" => self.description.clone(),
            "is_end" => self.is_end.clone(),
            "retry_safe" => self.retry_safe.clone(),
            "request" => self.request.clone(),
            "response" => self.response.clone(),
            "result" => self.result.clone(),
            "records" => self.records.clone(),
            "pagination" => self.pagination.clone(),
            "dedupe" => self.dedupe.clone(),
            "dedupe_window" => self.dedupe_window.clone(),
            "order" => self.order.clone(),
            "cursor" => self.cursor.clone(),
            "input_table" => self.input_table.clone(),
            "output_table" => self.output_table.clone(),
            "input_md" => self.input_md.clone(),
            "output_md" => self.output_md.clone(),
            "input" => return self.input.clone(),
            "output" => return self.output.clone(),
            "sample" => self.sample.clone(),
            "example" => self.example.clone(),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        if self.input.is_some() && self.output.is_some() {
            Enumerator::Str(Self::KEYS)
        } else {
            Enumerator::Values(self.keys().map(Value::from).collect())
        }
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.keys().count())
    }
}

impl ConnectorView<'_> {
    /// The view as the templates' `connector`.
    pub fn into_value(self) -> Value {
        Value::from_object(ConnectorObject {
            id: Value::from(self.id),
            key: Value::from(self.key),
            name: text(self.name),
            description: opt_text(self.description),
            category: Value::from(self.category),
            icon: opt_str(self.icon),
            base_url: Value::from(self.base_url),
            homepage: opt_str(self.homepage),
            docs_url: opt_str(self.docs_url),
            languages: ser(&self.languages),
            auth: ser(&self.auth),
            connection: ser(&self.connection),
            config: ser(&self.config),
            actions: operations(self.actions),
            triggers: operations(self.triggers),
            changelog: ser(&self.changelog),
        })
    }
}

fn operations(list: Vec<OperationView<'_>>) -> Value {
    Value::from_object(
        list.into_iter()
            .map(OperationView::into_value)
            .collect::<Vec<Value>>(),
    )
}

impl OperationView<'_> {
    pub fn into_value(self) -> Value {
        Value::from_object(OperationObject {
            kind: Value::from(self.kind),
            id: Value::from(self.id),
            key: Value::from(self.key),
            anchor: Value::from(self.anchor),
            name: text(self.name),
            description: opt_text(self.description),
            is_end: Value::from(self.is_end),
            retry_safe: self.retry_safe.map_or(Value::from(()), Value::from),
            request: self.request.into_value(),
            response: self
                .response
                .map_or(Value::from(()), ResponseView::into_value),
            result: opt_str(self.result),
            records: opt_str(self.records),
            pagination: ser(&self.pagination),
            dedupe: list(&self.dedupe),
            dedupe_window: self.dedupe_window.map_or(Value::from(()), Value::from),
            order: ser(&self.order),
            cursor: ser(&self.cursor),
            input_table: Value::from(self.input_table),
            output_table: Value::from(self.output_table),
            input_md: Value::from(self.input_md),
            output_md: Value::from(self.output_md),
            input: self.input.as_ref().map(ser),
            output: self.output.as_ref().map(ser),
            sample: self.sample.map_or(Value::from(()), Value::from),
            example: Value::from(self.example),
        })
    }
}

impl RequestView<'_> {
    pub fn into_value(self) -> Value {
        Value::from_object(RequestObject {
            method: Value::from(self.method),
            path: Value::from(self.path),
            url: Value::from(self.url),
            query: list(&self.query),
            headers: list(&self.headers),
            body: self.body.map_or(Value::from(()), BodyView::into_value),
        })
    }
}

impl BodyView<'_> {
    pub fn into_value(self) -> Value {
        Value::from_object(BodyObject {
            kind: Value::from(self.kind),
            content_type: Value::from(self.content_type),
            fields: list(&self.fields),
            content: self.content.map_or(Value::from(()), Value::from),
        })
    }
}

impl ResponseView<'_> {
    pub fn into_value(self) -> Value {
        Value::from_object(ResponseObject {
            success_status: ser(self.success_status),
            success_when: opt_str(self.success_when),
            error_code: opt_str(self.error_code),
            error_message: opt_str(self.error_message),
            request_id: opt_str(self.request_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_values_serializing_makes() {
        let plain = Text::Plain("Hello `x`".to_string());
        let both = super::super::fields::both("Hello".to_string(), "你好".to_string());
        for t in [&plain, &both] {
            let (direct, serialized) = (text(t), ser(t));
            assert_eq!(direct, serialized);
            assert_eq!(direct.kind(), serialized.kind());
            assert_eq!(format!("{direct:?}"), format!("{serialized:?}"));
            assert_eq!(direct.to_string(), serialized.to_string());
            assert_eq!(
                direct
                    .downcast_object_ref::<IndexMap<Value, Value>>()
                    .is_some(),
                serialized
                    .downcast_object_ref::<IndexMap<Value, Value>>()
                    .is_some()
            );
        }
        assert_eq!(opt_text(None), ser(&None::<&Text>));
        assert_eq!(list::<u16>(&[]), ser::<[u16]>(&[]));
    }
}
