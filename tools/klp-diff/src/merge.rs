//! Walking two lists sorted by the same key side by side: each key comes out
//! once, as only on the left, only on the right, or on both.

use std::{cmp::Ordering, iter::Peekable};

/// Where a key was found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Side<L, R> {
    Left(L),
    Right(R),
    Both(L, R),
}

/// The merge of two iterators sorted by `key`, without duplicate keys.
pub(crate) struct Merge<I: Iterator, J: Iterator, F> {
    left: Peekable<I>,
    right: Peekable<J>,
    cmp: F,
}

impl<I: Iterator, J: Iterator, F> Merge<I, J, F>
where
    F: FnMut(&I::Item, &J::Item) -> Ordering,
{
    pub(crate) fn new(left: I, right: J, cmp: F) -> Self {
        Self {
            left: left.peekable(),
            right: right.peekable(),
            cmp,
        }
    }
}

impl<I: Iterator, J: Iterator, F> Iterator for Merge<I, J, F>
where
    F: FnMut(&I::Item, &J::Item) -> Ordering,
{
    type Item = Side<I::Item, J::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        let order = match (self.left.peek(), self.right.peek()) {
            (None, None) => return None,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(l), Some(r)) => (self.cmp)(l, r),
        };
        Some(match order {
            Ordering::Less => Side::Left(self.left.next()?),
            Ordering::Greater => Side::Right(self.right.next()?),
            Ordering::Equal => Side::Both(self.left.next()?, self.right.next()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Merge, Side};

    #[test]
    fn each_key_once() {
        let got: Vec<_> = Merge::new([1, 3, 4].into_iter(), [2, 3, 5].into_iter(), |a, b| {
            a.cmp(b)
        })
        .collect();
        assert_eq!(
            got,
            [
                Side::Left(1),
                Side::Right(2),
                Side::Both(3, 3),
                Side::Left(4),
                Side::Right(5)
            ]
        );
    }
}
