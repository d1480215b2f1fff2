//! Calendar dates (`YYYY-MM-DD`) for release dates and ends of support.
//!
//! The civil-from-days conversion is Howard Hinnant's algorithm
//! (<https://howardhinnant.github.io/date_algorithms.html>), so no date crate
//! is needed.

use std::{fmt, str::FromStr, time::SystemTime};

/// A day of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// Builds a date, or `None` when the day does not exist.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        ((1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day))
            .then_some(Date { year, month, day })
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // CAST: `u64::MAX` seconds is far below `i64::MAX` days.
        Date::from_unix_days((secs / 86_400) as i64)
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_unix_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // CAST: the values are in range by construction (a day and a month),
        // and a year from a 64-bit count of seconds fits in `i32`.
        Date {
            year: year as i32,
            month: month as u32,
            day: day as u32,
        }
    }

    /// The same day `months` months later, or the last day of that month
    /// when it is shorter (2025-01-31 plus one month is 2025-02-28).
    pub fn add_months(self, months: u32) -> Date {
        let index = i64::from(self.year) * 12 + i64::from(self.month - 1) + i64::from(months);
        // CAST: `index / 12` is a year near `self.year` and `index % 12 + 1`
        // a month.
        let year = index.div_euclid(12) as i32;
        let month = index.rem_euclid(12) as u32 + 1;
        Date {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The error of a string that is not a `YYYY-MM-DD` date.
#[derive(Debug)]
pub struct BadDate(String);

impl fmt::Display for BadDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a date of the form YYYY-MM-DD", self.0)
    }
}

impl std::error::Error for BadDate {}

impl FromStr for Date {
    type Err = BadDate;

    fn from_str(s: &str) -> Result<Date, BadDate> {
        let bad = || BadDate(s.to_string());
        let mut parts = s.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
        if !(digits(y, 4) && digits(m, 2) && digits(d, 2)) {
            return Err(bad());
        }
        let num = |p: &str| p.parse::<u32>().map_err(|_| bad());
        // CAST: four decimal digits fit in `i32`.
        Date::new(num(y)? as i32, num(m)?, num(d)?).ok_or_else(bad)
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!(d("2026-03-01").to_string(), "2026-03-01");
        for bad in [
            "2026-3-01",
            "2026-02-30",
            "2026-13-01",
            "x",
            "2026-01-01-01",
            "",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
        assert!("2100-02-29".parse::<Date>().is_err());
    }

    #[test]
    fn adds_months_clamping_the_day() {
        assert_eq!(d("2026-03-01").add_months(13), d("2027-04-01"));
        assert_eq!(d("2025-01-31").add_months(1), d("2025-02-28"));
        assert_eq!(d("2023-01-31").add_months(13), d("2024-02-29"));
        assert_eq!(d("2025-12-15").add_months(0), d("2025-12-15"));
        assert_eq!(d("2025-12-15").add_months(1), d("2026-01-15"));
    }

    #[test]
    fn converts_unix_days() {
        assert_eq!(Date::from_unix_days(0), d("1970-01-01"));
        assert_eq!(Date::from_unix_days(-1), d("1969-12-31"));
        assert_eq!(Date::from_unix_days(20_513), d("2026-03-01"));
        assert_eq!(Date::from_unix_days(11_016), d("2000-02-29"));
    }
}
