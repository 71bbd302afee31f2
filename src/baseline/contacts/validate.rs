//! Offline rules of `baseline.contacts`: its targets and each contact. Reported through `spec::validate::Checker` at
//! the value's line and column, with the spec's own rules (`Baseline::validate`).

use crate::spec::validate::is_valid_email;
use crate::spec::validate::Checker;

/// Checks its section, if the spec has one.
pub(super) fn check(checker: &mut Checker<'_>) {
    let baseline = &checker.spec().baseline;
    if let Some(contacts) = &baseline.contacts {
        checker.targets(&["baseline", "contacts", "targets"], &contacts.targets, true);
        if contacts.security.is_none() && contacts.operations.is_none() && contacts.billing.is_none() {
            checker.error_at(
                &["baseline", "contacts"],
                true,
                "`contacts` sets no contact".to_string(),
                Some("add `security: { name, email, phone, title }`".to_string()),
            );
        }
        for (kind, contact) in
            [("security", &contacts.security), ("operations", &contacts.operations), ("billing", &contacts.billing)]
        {
            let Some(contact) = contact else { continue };
            if !is_valid_email(&contact.email) {
                checker.error(
                    &["baseline", "contacts", kind, "email"],
                    format!("`{}` is not a valid email address", contact.email),
                    None,
                );
            }
            if contact.phone.is_empty() || !contact.phone.chars().all(|c| c.is_ascii_digit() || " ()+-".contains(c)) {
                checker.error(
                    &["baseline", "contacts", kind, "phone"],
                    format!("`{}` is not a phone number (digits, spaces, + ( ) -)", contact.phone),
                    None,
                );
            }
            for (field, value, max) in [("name", &contact.name, 64), ("title", &contact.title, 50)] {
                if value.is_empty() || value.chars().count() > max {
                    checker.error(
                        &["baseline", "contacts", kind, field],
                        format!("contact {field} must be 1-{max} characters"),
                        None,
                    );
                }
            }
        }
    }
}
