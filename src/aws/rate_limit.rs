//! Client-side rate limiting: the per-operation rates AWS publishes for Organizations and for the
//! Account Management API, kept as one token bucket per operation, so `plan` and `apply` stay under
//! them and throttles are rare instead of storms of retries. The core (`TokenBucket`) is pure and tested without a clock;
//! `acquire` is the thin async wait that `retry::with_retry` calls before every attempt.
//!
//! It owns the rate table and the waiting, nothing else: retry decisions stay in `retry`. Only the
//! operations in the table are limited; any other name passes straight through.
//! `LANDING_ZONE_RATE_LIMIT=off` turns limiting off, for emulators (moto) that never throttle and
//! whose tests would otherwise wait out CreateAccount's 0.1 call per second.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// Most tokens the bucket holds (calls that may go at once after a pause); at least 1.
    pub burst: u32,
}

/// AWS's published rate of an operation (requests per second, sustained/burst), or None when AWS
/// publishes none.
///
/// Organizations (per account), from the Organizations quotas page:
/// https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
///
/// Account Management, from its quotas page
/// (https://docs.aws.amazon.com/accounts/latest/reference/quotas.html): PutAccountName "1 per
/// second, burst to 1 per second" per caller account. The tool calls it as the one management
/// caller, so a bucket per operation is the caller's bucket. EnableRegion (1/s) and
/// GetRegionOptStatus (5/s) are limited "per account": one bucket for every account would pace a
/// thousand accounts' reads at one account's rate, so they are not paced here (their throttles are
/// retried).
pub fn published_rate(operation: &str) -> Option<Rate> {
    let (per_second, burst) = match operation {
        "PutAccountName" => (1.0, 1),
        "CreateAccount" => (0.1, 3),
        "CloseAccount" => (0.05, 1),
        "DescribeCreateAccountStatus" => (2.0, 2),
        "DescribeAccount" => (20.0, 30),
        "ListAccounts" => (8.0, 12),
        "ListChildren" => (6.0, 10),
        "ListParents" | "ListAccountsForParent" | "ListOrganizationalUnitsForParent" => (5.0, 8),
        "ListRoots" | "DescribeOrganization" => (1.0, 2),
        "ListTagsForResource" => (10.0, 15),
        "ListPolicies" | "ListPoliciesForTarget" | "ListTargetsForPolicy" => (5.0, 8),
        "DescribePolicy" => (2.0, 2),
        "CreatePolicy" | "UpdatePolicy" | "DeletePolicy" | "AttachPolicy" | "DetachPolicy" => (2.0, 3),
        "MoveAccount" => (2.0, 3),
        "EnablePolicyType" => (1.0, 1),
        "CreateOrganizationalUnit" => (1.0, 2),
        "RegisterDelegatedAdministrator" => (1.0, 2),
        "EnableAWSServiceAccess" => (1.0, 2),
        _ => return None,
    };
    Some(Rate { per_second, burst })
}

/// The share of AWS's sustained rate the client uses.
const SUSTAINED_SHARE: f64 = 0.98;

/// The rate the client holds itself to: a little under AWS's, so that network jitter (two calls
/// sent 1/rate apart can arrive closer together) does not cost a throttle. One token less of
/// burst absorbs the jitter: AWS's bucket always holds a token the client does not spend, so a
/// call may arrive a whole interval early. 2% less sustained rate keeps the drift on AWS's side
/// (the two clocks' rates differ by parts per million) and widens that spare token over a long
/// run. It was 5%, which cost 0.6 s of the 1,000-account plan at AWS's rates: DescribePolicy, 2 a
/// second, is that plan's slowest read, and its 40 calls took 20.5 s against a floor of 19.0 s
/// (issue 25; docs/performance.md).
pub fn client_rate(published: Rate) -> Rate {
    let mut per_second = published.per_second * SUSTAINED_SHARE;
    if published.burst <= 1 {
        // No spare token to absorb jitter (PutAccountName, EnablePolicyType: 1 a second, burst 1):
        // calls go at least 100 ms further apart than AWS's interval, a delay of one call's
        // arrival at AWS no longer lands the next one inside the same second.
        per_second = per_second.min(1.0 / (1.0 / published.per_second.max(f64::MIN_POSITIVE) + 0.1));
    }
    Rate { per_second, burst: published.burst.saturating_sub(1).max(1) }
}

/// A token bucket that hands out reservations: a caller always takes a token, and is told how
/// long to wait until that token exists. Waiting callers are thereby served in order, one every
/// 1/rate seconds, without polling. Time is passed in (a duration since any fixed instant).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    /// Tokens available at `updated`; negative when reservations run ahead of the refill.
    tokens: f64,
    updated: Duration,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(rate: Rate, now: Duration) -> TokenBucket {
        let burst = f64::from(rate.burst.max(1));
        TokenBucket {
            rate: Rate { per_second: rate.per_second.max(f64::MIN_POSITIVE), ..rate },
            tokens: burst,
            updated: now,
        }
    }

    /// Reserves one token at `now`; returns how long to wait before making the call (zero when a
    /// token was in the bucket). A `now` earlier than the last call counts as the last call's time.
    pub fn reserve(&mut self, now: Duration) -> Duration {
        let now = now.max(self.updated);
        let refill = (now - self.updated).as_secs_f64() * self.rate.per_second;
        self.tokens = (self.tokens + refill).min(f64::from(self.rate.burst.max(1)));
        self.updated = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate.per_second)
        }
    }
}

struct Limiter {
    started: Instant,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

fn limiter() -> Option<&'static Limiter> {
    static LIMITER: OnceLock<Option<Limiter>> = OnceLock::new();
    LIMITER
        .get_or_init(|| {
            let setting = std::env::var("LANDING_ZONE_RATE_LIMIT").unwrap_or_default();
            let off = matches!(setting.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "no");
            (!off).then(|| Limiter { started: Instant::now(), buckets: Mutex::new(HashMap::new()) })
        })
        .as_ref()
}

/// Waits until `operation` may be called within AWS's published rate (returns at once for
/// operations without one, or when limiting is off).
pub async fn acquire(operation: &str) {
    let Some(wait) = reservation(operation) else {
        return;
    };
    if !wait.is_zero() {
        tracing::trace!(operation, wait_ms = wait.as_millis() as u64, "waiting for the published rate");
        tokio::time::sleep(wait).await;
    }
}

fn reservation(operation: &str) -> Option<Duration> {
    let limiter = limiter()?;
    let rate = client_rate(published_rate(operation)?);
    let now = limiter.started.elapsed();
    // A poisoned lock only means another task panicked mid-update; the bucket is still usable.
    let mut buckets = limiter.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let bucket = buckets.entry(operation.to_string()).or_insert_with(|| TokenBucket::full(rate, now));
    Some(bucket.reserve(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(value: f64) -> Duration {
        Duration::from_secs_f64(value)
    }

    fn close(left: Duration, right: Duration) -> bool {
        left.abs_diff(right) < Duration::from_micros(10)
    }

    #[test]
    fn a_full_bucket_lets_the_burst_through_then_spaces_calls_by_the_rate() {
        let mut bucket = TokenBucket::full(Rate { per_second: 2.0, burst: 3 }, Duration::ZERO);
        let waits: Vec<Duration> = (0..6).map(|_| bucket.reserve(Duration::ZERO)).collect();
        let expected = [0.0, 0.0, 0.0, 0.5, 1.0, 1.5].map(seconds);
        for (wait, expected) in waits.iter().zip(expected) {
            assert!(close(*wait, expected), "{waits:?}");
        }
    }

    #[test]
    fn refill_is_capped_at_the_burst() {
        let mut bucket = TokenBucket::full(Rate { per_second: 1.0, burst: 2 }, Duration::ZERO);
        assert_eq!(bucket.reserve(Duration::ZERO), Duration::ZERO);
        assert_eq!(bucket.reserve(Duration::ZERO), Duration::ZERO);
        // An hour idle refills two tokens, not 3,600.
        let later = seconds(3600.0);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert_eq!(bucket.reserve(later), Duration::ZERO);
        assert!(close(bucket.reserve(later), seconds(1.0)));
    }

    #[test]
    fn a_caller_that_waited_its_turn_finds_its_token() {
        let mut bucket = TokenBucket::full(Rate { per_second: 0.1, burst: 1 }, Duration::ZERO);
        assert_eq!(bucket.reserve(Duration::ZERO), Duration::ZERO);
        let wait = bucket.reserve(seconds(4.0));
        assert!(close(wait, seconds(6.0)), "{wait:?}");
        // The next caller, arriving when the first reserved token matured, waits a full period.
        assert!(close(bucket.reserve(seconds(10.0)), seconds(10.0)));
    }

    #[test]
    fn time_running_backwards_does_not_mint_tokens() {
        let mut bucket = TokenBucket::full(Rate { per_second: 1.0, burst: 1 }, seconds(5.0));
        assert_eq!(bucket.reserve(seconds(5.0)), Duration::ZERO);
        assert!(close(bucket.reserve(seconds(1.0)), seconds(1.0)));
    }

    #[test]
    fn sustained_use_stays_within_the_rate() {
        // Callers arriving every 10 ms for a minute are admitted at no more than rate * t + burst.
        let rate = Rate { per_second: 5.0, burst: 8 };
        let mut bucket = TokenBucket::full(rate, Duration::ZERO);
        let mut admitted = Vec::new();
        for step in 0..6000u32 {
            let now = Duration::from_millis(u64::from(step) * 10);
            admitted.push(now + bucket.reserve(now));
        }
        for (index, at) in admitted.iter().enumerate() {
            let allowed = at.as_secs_f64() * rate.per_second + f64::from(rate.burst);
            assert!((index + 1) as f64 <= allowed + 1e-6, "call {index} at {at:?}");
        }
    }

    #[test]
    fn the_table_has_the_published_rates_and_nothing_else() {
        assert_eq!(published_rate("CreateAccount"), Some(Rate { per_second: 0.1, burst: 3 }));
        assert_eq!(published_rate("ListAccountsForParent"), Some(Rate { per_second: 5.0, burst: 8 }));
        assert_eq!(published_rate("DescribePolicy"), Some(Rate { per_second: 2.0, burst: 2 }));
        assert_eq!(published_rate("EnablePolicyType"), Some(Rate { per_second: 1.0, burst: 1 }));
        assert_eq!(published_rate("PutAccountName"), Some(Rate { per_second: 1.0, burst: 1 }));
        assert_eq!(published_rate("PutObject"), None);
        assert_eq!(published_rate("GetCallerIdentity"), None);
    }

    #[test]
    fn the_client_keeps_a_margin_under_the_published_rate() {
        let rate = client_rate(Rate { per_second: 2.0, burst: 3 });
        assert_eq!(rate.burst, 2);
        assert!(rate.per_second < 2.0);
        assert_eq!(client_rate(Rate { per_second: 1.0, burst: 1 }).burst, 1);
        // Without a spare token, the interval grows by 100 ms: 1 a second becomes 1 every 1.1 s.
        let one_a_second = client_rate(Rate { per_second: 1.0, burst: 1 });
        assert!((1.0 / one_a_second.per_second - 1.1).abs() < 1e-9, "{one_a_second:?}");
        // A slow rate keeps its 2% (more than 100 ms: 20.4 s between calls instead of 20).
        let close_account = client_rate(Rate { per_second: 0.05, burst: 1 });
        assert!((close_account.per_second - 0.049).abs() < 1e-12, "{close_account:?}");
        // DescribePolicy, the organization's slowest read: 1.96 a second after a burst of 1.
        let describe_policy = client_rate(published_rate("DescribePolicy").expect("published"));
        assert_eq!(describe_policy.burst, 1);
        assert!((describe_policy.per_second - 1.96).abs() < 1e-12, "{describe_policy:?}");
    }
}
