//! A serde `Serializer` that writes canonical JSON directly, without building a
//! `serde_json::Value` first. It produces exactly the bytes of
//! `value_to_vec(&serde_json::to_value(x)?)` (a property the tests below and the
//! `record_reader` fuzz target check): the same number rules, the same escaping, members
//! sorted by UTF-16 code units, a repeated map key keeping its last value, non-finite
//! floats written as `null` as `serde_json::to_value` does.
//!
//! Each object is assembled in a scratch buffer (its members' values, then sorted into
//! place), so a struct costs two allocations instead of one per field.

use serde::ser::{self, Serialize};

use super::{key_cmp, write_f64, write_i64, write_string, write_u64, CanonicalError};

impl ser::Error for CanonicalError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        CanonicalError::Serialize(<serde_json::Error as ser::Error>::custom(msg))
    }
}

/// Writes one value into `out`.
pub(super) struct Canon<'a> {
    pub(super) out: &'a mut Vec<u8>,
}

fn key_must_be_a_string() -> CanonicalError {
    <CanonicalError as ser::Error>::custom("key must be a string")
}

impl<'a> ser::Serializer for Canon<'a> {
    type Ok = ();
    type Error = CanonicalError;
    type SerializeSeq = Seq<'a>;
    type SerializeTuple = Seq<'a>;
    type SerializeTupleStruct = Seq<'a>;
    type SerializeTupleVariant = Variant<Seq<'a>>;
    type SerializeMap = Object<'a>;
    type SerializeStruct = Object<'a>;
    type SerializeStructVariant = Variant<Object<'a>>;

    fn serialize_bool(self, v: bool) -> Result<(), CanonicalError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), CanonicalError> {
        write_i64(i64::from(v), self.out)
    }
    fn serialize_i16(self, v: i16) -> Result<(), CanonicalError> {
        write_i64(i64::from(v), self.out)
    }
    fn serialize_i32(self, v: i32) -> Result<(), CanonicalError> {
        write_i64(i64::from(v), self.out)
    }
    fn serialize_i64(self, v: i64) -> Result<(), CanonicalError> {
        write_i64(v, self.out)
    }
    fn serialize_i128(self, v: i128) -> Result<(), CanonicalError> {
        match i64::try_from(v) {
            Ok(v) => write_i64(v, self.out),
            Err(_) => Err(CanonicalError::UnsafeNumber(v.to_string())),
        }
    }
    fn serialize_u8(self, v: u8) -> Result<(), CanonicalError> {
        write_u64(u64::from(v), self.out)
    }
    fn serialize_u16(self, v: u16) -> Result<(), CanonicalError> {
        write_u64(u64::from(v), self.out)
    }
    fn serialize_u32(self, v: u32) -> Result<(), CanonicalError> {
        write_u64(u64::from(v), self.out)
    }
    fn serialize_u64(self, v: u64) -> Result<(), CanonicalError> {
        write_u64(v, self.out)
    }
    fn serialize_u128(self, v: u128) -> Result<(), CanonicalError> {
        match u64::try_from(v) {
            Ok(v) => write_u64(v, self.out),
            Err(_) => Err(CanonicalError::UnsafeNumber(v.to_string())),
        }
    }
    fn serialize_f32(self, v: f32) -> Result<(), CanonicalError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), CanonicalError> {
        match v.is_finite() {
            true => write_f64(v, self.out),
            // serde_json::to_value turns NaN and infinities into null.
            false => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
        }
    }
    fn serialize_char(self, v: char) -> Result<(), CanonicalError> {
        let mut buf = [0u8; 4];
        write_string(v.encode_utf8(&mut buf), self.out);
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), CanonicalError> {
        write_string(v, self.out);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), CanonicalError> {
        let mut seq = Seq::new(self.out);
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        ser::SerializeSeq::end(seq)
    }
    fn serialize_none(self) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), CanonicalError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), CanonicalError> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), CanonicalError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), CanonicalError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), CanonicalError> {
        self.out.push(b'{');
        write_string(variant, self.out);
        self.out.push(b':');
        value.serialize(Canon { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Seq<'a>, CanonicalError> {
        Ok(Seq::new(self.out))
    }
    fn serialize_tuple(self, _: usize) -> Result<Seq<'a>, CanonicalError> {
        Ok(Seq::new(self.out))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Seq<'a>, CanonicalError> {
        Ok(Seq::new(self.out))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Seq<'a>>, CanonicalError> {
        Variant::open(self.out, variant, Seq::new)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Object<'a>, CanonicalError> {
        Ok(Object::new(self.out))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Object<'a>, CanonicalError> {
        let mut o = Object::new(self.out);
        o.members.reserve(len);
        Ok(o)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Variant<Object<'a>>, CanonicalError> {
        Variant::open(self.out, variant, Object::new)
    }
}

/// An array being written.
pub(super) struct Seq<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Seq<'a> {
    fn new(out: &'a mut Vec<u8>) -> Seq<'a> {
        out.push(b'[');
        Seq { out, first: true }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CanonicalError> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canon { out: self.out })
    }

    fn close(self) -> Result<&'a mut Vec<u8>, CanonicalError> {
        self.out.push(b']');
        Ok(self.out)
    }
}

impl ser::SerializeSeq for Seq<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close().map(|_| ())
    }
}

impl ser::SerializeTuple for Seq<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close().map(|_| ())
    }
}

impl ser::SerializeTupleStruct for Seq<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close().map(|_| ())
    }
}

/// An object being assembled: member values are written to `scratch` as they come, and
/// put in key order into `out` at the end.
pub(super) struct Object<'a> {
    out: &'a mut Vec<u8>,
    scratch: Vec<u8>,
    members: Vec<(std::borrow::Cow<'static, str>, usize, usize)>,
    pending_key: Option<String>,
}

impl<'a> Object<'a> {
    fn new(out: &'a mut Vec<u8>) -> Object<'a> {
        Object {
            out,
            scratch: Vec::new(),
            members: Vec::new(),
            pending_key: None,
        }
    }

    fn member<T: ?Sized + Serialize>(
        &mut self,
        key: std::borrow::Cow<'static, str>,
        value: &T,
    ) -> Result<(), CanonicalError> {
        let start = self.scratch.len();
        value.serialize(Canon {
            out: &mut self.scratch,
        })?;
        self.members.push((key, start, self.scratch.len()));
        Ok(())
    }

    fn close(mut self) -> Result<&'a mut Vec<u8>, CanonicalError> {
        // Stable sort, then keep the last of equal keys (as a JSON map insert would).
        self.members.sort_by(|a, b| key_cmp(&a.0, &b.0));
        self.out.push(b'{');
        let n = self.members.len();
        let mut first = true;
        for i in 0..n {
            let (key, start, end) = &self.members[i];
            if i + 1 < n && self.members[i + 1].0 == *key {
                continue;
            }
            if !first {
                self.out.push(b',');
            }
            first = false;
            write_string(key, self.out);
            self.out.push(b':');
            self.out.extend_from_slice(&self.scratch[*start..*end]);
        }
        self.out.push(b'}');
        Ok(self.out)
    }
}

impl ser::SerializeMap for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), CanonicalError> {
        self.pending_key = Some(key.serialize(KeyString)?);
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CanonicalError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| <CanonicalError as ser::Error>::custom("map value without a key"))?;
        self.member(std::borrow::Cow::Owned(key), v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close().map(|_| ())
    }
}

impl ser::SerializeStruct for Object<'_> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), CanonicalError> {
        self.member(std::borrow::Cow::Borrowed(key), v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.close().map(|_| ())
    }
}

/// `{"Variant": <inner>}` around a tuple or struct variant.
pub(super) struct Variant<I> {
    inner: I,
}

impl<'a, I> Variant<I> {
    fn open(
        out: &'a mut Vec<u8>,
        variant: &'static str,
        make: fn(&'a mut Vec<u8>) -> I,
    ) -> Result<Variant<I>, CanonicalError> {
        out.push(b'{');
        write_string(variant, out);
        out.push(b':');
        Ok(Variant { inner: make(out) })
    }
}

impl ser::SerializeTupleVariant for Variant<Seq<'_>> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), CanonicalError> {
        self.inner.element(v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.inner.close()?.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStructVariant for Variant<Object<'_>> {
    type Ok = ();
    type Error = CanonicalError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), CanonicalError> {
        self.inner.member(std::borrow::Cow::Borrowed(key), v)
    }
    fn end(self) -> Result<(), CanonicalError> {
        self.inner.close()?.push(b'}');
        Ok(())
    }
}

/// Map keys become strings, as `serde_json::to_value` makes them.
struct KeyString;

impl ser::Serializer for KeyString {
    type Ok = String;
    type Error = CanonicalError;
    type SerializeSeq = ser::Impossible<String, CanonicalError>;
    type SerializeTuple = ser::Impossible<String, CanonicalError>;
    type SerializeTupleStruct = ser::Impossible<String, CanonicalError>;
    type SerializeTupleVariant = ser::Impossible<String, CanonicalError>;
    type SerializeMap = ser::Impossible<String, CanonicalError>;
    type SerializeStruct = ser::Impossible<String, CanonicalError>;
    type SerializeStructVariant = ser::Impossible<String, CanonicalError>;

    fn serialize_str(self, v: &str) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_bool(self, v: bool) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, CanonicalError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _: f64) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, CanonicalError> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, CanonicalError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, CanonicalError> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, CanonicalError> {
        Err(key_must_be_a_string())
    }
}
