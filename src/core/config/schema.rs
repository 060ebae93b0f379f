//! The one definition of each configuration type: [`config_struct!`] writes a struct, its field
//! list and its reader from one table; [`config_enum!`] an enum, its spellings and its reader.
//!
//! A field is read by one of three rules:
//! - `required(reader)`: must be present (`missing field `x``);
//! - `optional(reader)`: `Option<T>`, absent or `null` is `None`;
//! - `default(reader, value)`: absent keeps `value`.
//!
//! A reader is a [`super::read::Reader`] (`fn(&Node, Path) -> Result<T, ConfigError>`). Unknown
//! fields are refused with the list of known ones; a struct written `default struct` (every field
//! optional or defaulted) also gets its `Default` from the same table.

/// A configuration struct, its `FIELDS` and its `read` (see the module documentation).
macro_rules! config_struct {
    (default $(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        config_struct!(@struct $(#[$meta])* $vis struct $name { $($body)* });
        config_struct!(@default $name { $($body)* });
    };
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        config_struct!(@struct $(#[$meta])* $vis struct $name { $($body)* });
    };
    (@struct $(#[$meta:meta])* $vis:vis struct $name:ident {
        $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $rule:ident ( $($arg:tt)* ) ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        $vis struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $name {
            /// The fields, in declaration order (an unknown field's error lists them).
            pub(crate) const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Reads the object at `at`.
            pub(crate) fn read(
                node: &$crate::core::json::Node<'_>,
                at: $crate::core::config::read::Path<'_>,
            ) -> Result<Self, $crate::core::config::ConfigError> {
                use $crate::core::config::read;
                $( let mut $field = config_struct!(@init $rule ($($arg)*)); )*
                for m in read::object(node, at)? {
                    let (v, here) = (&m.value, at.key(&m.key));
                    match m.key.as_ref() {
                        $( stringify!($field) => $field = config_struct!(@set $rule ($($arg)*) v here), )*
                        other => return Err(read::unknown_field(here, other, Self::FIELDS)),
                    }
                }
                Ok(Self { $( $field: config_struct!(@finish $rule $field at), )* })
            }
        }
    };
    (@default $name:ident {
        $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $rule:ident ( $($arg:tt)* ) ),* $(,)?
    }) => {
        impl Default for $name {
            fn default() -> Self {
                Self { $( $field: config_struct!(@init $rule ($($arg)*)), )* }
            }
        }
    };
    (@init required ($read:expr)) => { None };
    (@init optional ($read:expr)) => { None };
    (@init default ($read:expr, $value:expr)) => { $value };
    (@set required ($read:expr) $v:ident $here:ident) => { Some($read($v, $here)?) };
    (@set optional ($read:expr) $v:ident $here:ident) => { read::optional($v, $here, $read)? };
    (@set default ($read:expr, $value:expr) $v:ident $here:ident) => { $read($v, $here)? };
    (@finish required $field:ident $at:ident) => { read::required($field, $at, stringify!($field))? };
    (@finish optional $field:ident $at:ident) => { $field };
    (@finish default $field:ident $at:ident) => { $field };
}

/// A unit enum written as one of its spellings, with `VARIANTS`, `as_str` and `read`.
macro_rules! config_enum {
    ($(#[$meta:meta])* $vis:vis enum $name:ident {
        $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every spelling, in declaration order (an unknown variant's error lists them).
            pub(crate) const VARIANTS: &'static [(&'static str, Self)] = &[$(($text, Self::$variant)),*];

            /// The spelling, as written in configuration (and audit records).
            #[allow(dead_code, reason = "not every enum is written back")]
            pub(crate) fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )*
                }
            }

            /// The variant spelled `name`.
            #[allow(dead_code, reason = "not every enum is read outside configuration")]
            pub(crate) fn from_name(name: &str) -> Option<Self> {
                Self::VARIANTS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
            }

            /// Reads a string naming one variant.
            pub(crate) fn read(
                node: &$crate::core::json::Node<'_>,
                at: $crate::core::config::read::Path<'_>,
            ) -> Result<Self, $crate::core::config::ConfigError> {
                $crate::core::config::read::variant(node, at, Self::VARIANTS)
            }
        }
    };
}
