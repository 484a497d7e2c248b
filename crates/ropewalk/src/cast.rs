//! Taking a value of a generic type as the concrete type it may be.

use std::any::Any;

/// The value in `slot`, taken out as a `T` when its type is `T` (known at
/// compile time, so the check costs nothing at run time); else `None`, and
/// `slot` keeps it. Lets generic code pass on, as it is, a value that is
/// already what it would wrap it into (a boxed body, service or future).
pub(crate) fn take_as<T: 'static, U: 'static>(slot: &mut Option<U>) -> Option<T> {
    (slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_type_is_taken_and_another_left() {
        let mut same = Some(String::from("a"));
        assert_eq!(take_as::<String, _>(&mut same), Some(String::from("a")));
        assert_eq!(same, None);
        let mut other = Some(7u8);
        assert_eq!(take_as::<String, _>(&mut other), None);
        assert_eq!(other, Some(7));
    }
}
