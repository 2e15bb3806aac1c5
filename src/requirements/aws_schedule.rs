//! AWS Backup schedule expressions (`cron(…)` with six fields, `rate(N unit)`) and the
//! longest gap between two runs, for the CEL function `schedule_minutes(expr)` that
//! catalog rules use to compare a backup rule with an RPO.

use std::sync::Arc;

use cel::objects::Value;
use cel::ExecutionError;

/// The longest gap between two runs of an AWS schedule expression, in whole minutes
/// (rounded up).
pub fn minutes(expr: &str) -> Result<i64, String> {
    let e = expr.trim();
    if let Some(body) = e.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut it = body.split_whitespace();
        let n: i64 = it
            .next()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{expr:?}: rate needs a positive number"))?;
        let per = match it.next().map(|u| u.trim_end_matches('s')) {
            Some("minute") => 1,
            Some("hour") => 60,
            Some("day") => 1440,
            _ => {
                return Err(format!(
                    "{expr:?}: rate unit must be minutes, hours or days"
                ))
            }
        };
        return Ok(n * per);
    }
    let body = e
        .strip_prefix("cron(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("{expr:?} is neither cron(…) nor rate(…)"))?;
    let f: Vec<&str> = body.split_whitespace().collect();
    let [min, hour, dom, month, dow, _year] = f[..] else {
        return Err(format!("{expr:?}: an AWS cron expression has six fields"));
    };
    let star = |s: &str| {
        if s == "?" {
            "*".to_string()
        } else {
            s.to_string()
        }
    };
    // AWS numbers days of the week 1-7 from Sunday; the cron parser 0-6 from Sunday.
    let dow: String = {
        let mut out = String::new();
        let mut num = String::new();
        for c in star(dow).chars().chain(std::iter::once('\0')) {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if !num.is_empty() {
                let n: u32 = num.parse().unwrap_or(1);
                out.push_str(&n.saturating_sub(1).to_string());
                num.clear();
            }
            if c != '\0' {
                out.push(c);
            }
        }
        out
    };
    let six = format!("0 {min} {hour} {} {} {dow}", star(dom), star(month));
    let gap = crate::daemon::schedule::interval(&six).map_err(|e| format!("{expr:?}: {e}"))?;
    Ok(i64::try_from(gap.as_secs().div_ceil(60)).unwrap_or(i64::MAX))
}

/// Register `schedule_minutes(string) -> int` on a CEL context.
pub fn register(ctx: &mut cel::Context) {
    // The name is ours, never a standard function, so registration cannot conflict.
    let _ = ctx.add_function(
        "schedule_minutes",
        |expr: Arc<String>| -> Result<Value, ExecutionError> {
            minutes(&expr)
                .map(Value::Int)
                .map_err(|e| ExecutionError::function_error("schedule_minutes", e))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_crons_give_their_longest_gap() {
        assert_eq!(minutes("rate(12 hours)"), Ok(720));
        assert_eq!(minutes("rate(1 day)"), Ok(1440));
        assert_eq!(minutes("cron(0 5 ? * * *)"), Ok(1440));
        assert_eq!(minutes("cron(0 */4 * * ? *)"), Ok(240));
        // Weekly on Sunday (AWS 1): a week.
        assert_eq!(minutes("cron(0 5 ? * 1 *)"), Ok(7 * 1440));
        // Weekdays only: the weekend gap is the longest.
        assert_eq!(minutes("cron(0 5 ? * MON-FRI *)"), Ok(3 * 1440));
        assert!(minutes("cron(0 5 * *)").is_err());
        assert!(minutes("every day").is_err());
    }

    #[test]
    fn the_cel_function_is_registered() {
        let mut c = cel::Context::default();
        register(&mut c);
        let p = super::super::cel::compile("schedule_minutes('rate(2 hours)') == 120").unwrap();
        assert_eq!(super::super::cel::truth(&p, &c), Ok(true));
    }
}
