//! Checks for the names human records carry: AWS regions, S3 buckets, AWS Backup resource
//! types, resource ARNs and ids, quarters. Each returns the normalised value or a message
//! saying what a valid value looks like; the caller adds the file and the field.

use time::{Date, Month, OffsetDateTime, Time};

/// The resource type names AWS Backup uses (`ResourceType` of jobs and protected resources).
pub const BACKUP_RESOURCE_TYPES: &[&str] = &[
    "Aurora",
    "CloudFormation",
    "DocumentDB",
    "DynamoDB",
    "EBS",
    "EC2",
    "EFS",
    "FSx",
    "Neptune",
    "RDS",
    "Redshift",
    "S3",
    "SAP HANA on Amazon EC2",
    "Storage Gateway",
    "Timestream",
    "VirtualMachine",
];

/// An AWS region name: `^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$` (us-west-2,
/// us-gov-east-1, us-isob-east-1).
pub fn region(s: &str) -> Result<String, String> {
    let lower = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase());
    let parts: Vec<&str> = s.split('-').collect();
    let partition_ok = match parts.len() {
        3 => true,
        4 => {
            let p = parts[1];
            p == "gov" || (p.starts_with("iso") && p.len() <= 4 && lower(p))
        }
        _ => false,
    };
    let n = parts.len();
    let ok = partition_ok
        && parts[0].len() == 2
        && lower(parts[0])
        && lower(parts[n - 2])
        && !parts[n - 1].is_empty()
        && parts[n - 1].len() <= 3
        && parts[n - 1].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not an AWS region name (e.g. us-west-2, us-gov-east-1)"
        ))
    }
}

/// An S3 bucket name: 3 to 63 characters of a-z 0-9 . -, starting and ending with a letter
/// or digit, no `..`, not shaped like an IP address.
pub fn bucket(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ip_like = s.split('.').count() == 4
        && s.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    let ok = (3..=63).contains(&b.len())
        && b.iter().all(|&c| alnum(c) || c == b'.' || c == b'-')
        && b.first().copied().is_some_and(alnum)
        && b.last().copied().is_some_and(alnum)
        && !s.contains("..")
        && !ip_like;
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not an S3 bucket name (3 to 63 characters of a-z 0-9 . -, starting and ending with a letter or digit)"
        ))
    }
}

/// An AWS Backup resource type name, matched without regard to case and returned in AWS's
/// spelling (`rds` → `RDS`).
pub fn backup_resource_type(s: &str) -> Result<String, String> {
    BACKUP_RESOURCE_TYPES
        .iter()
        .find(|t| t.eq_ignore_ascii_case(s.trim()))
        .map(|t| t.to_string())
        .ok_or_else(|| {
            format!(
                "{s:?} is not an AWS Backup resource type (one of: {})",
                BACKUP_RESOURCE_TYPES.join(", ")
            )
        })
}

/// A resource named by ARN (`arn:partition:service:region:account:resource`) or by id
/// (no spaces, at most 2048 characters).
pub fn resource(s: &str) -> Result<String, String> {
    if s.len() > 2048 || s.chars().any(char::is_whitespace) {
        return Err(format!(
            "{s:?} is not a resource ARN or id (no spaces, at most 2048 characters)"
        ));
    }
    if s.starts_with("arn:") {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && !parts[1].is_empty()
            && !parts[2].is_empty()
            && !parts[5].is_empty();
        if !ok {
            return Err(format!(
                "{s:?} is not an ARN (arn:partition:service:region:account:resource)"
            ));
        }
    }
    Ok(s.to_string())
}

/// What `data-classification` lists: a resource ARN or id, a CloudFormation-style resource
/// type (`AWS::RDS::DBInstance`), or `*` for every store.
pub fn store(s: &str) -> Result<String, String> {
    if s == "*" {
        return Ok(s.to_string());
    }
    if let Some(rest) = s.strip_prefix("AWS::") {
        let parts: Vec<&str> = rest.split("::").collect();
        let ok = parts.len() == 2
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        return if ok {
            Ok(s.to_string())
        } else {
            Err(format!(
                "{s:?} is not a resource type like AWS::RDS::DBInstance"
            ))
        };
    }
    resource(s)
}

/// A quarter `YYYY-Qn`, with its first instant and the next quarter's first instant (UTC).
pub fn quarter(s: &str) -> Result<(String, OffsetDateTime, OffsetDateTime), String> {
    let bad = || format!("{s:?} is not a quarter like 2026-Q3");
    let ok = s.len() == 7
        && s.is_char_boundary(4)
        && s.is_char_boundary(6)
        && s[..4].bytes().all(|b| b.is_ascii_digit())
        && &s[4..6] == "-Q"
        && matches!(&s[6..], "1" | "2" | "3" | "4");
    if !ok {
        return Err(bad());
    }
    let year: i32 = s[..4].parse().map_err(|_| bad())?;
    let q: u8 = s[6..].parse().map_err(|_| bad())?;
    let first = |year: i32, q: u8| -> Result<OffsetDateTime, String> {
        let month = Month::try_from(3 * (q - 1) + 1).map_err(|_| bad())?;
        let date = Date::from_calendar_date(year, month, 1).map_err(|_| bad())?;
        Ok(date.with_time(Time::MIDNIGHT).assume_utc())
    };
    let start = first(year, q)?;
    let end = if q == 4 {
        first(year + 1, 1)?
    } else {
        first(year, q + 1)?
    };
    Ok((s.to_string(), start, end))
}
