//! Message templates: text with `{placeholder}`s. A line naming a placeholder that has
//! no value is left out, so the seed's "Due Date" line appears only with a due date.
//! The defaults (the seed's four messages, plus recarga's low-balance notice) are
//! files under `templates/notifications/`, built in; files may override them.

use super::MessageType;

/// The built-in text of a message type.
pub fn default_template(kind: MessageType) -> &'static str {
    match kind {
        MessageType::PaymentReminder => include_str!("../../../templates/notifications/payment_reminder.txt"),
        MessageType::Invoice => include_str!("../../../templates/notifications/invoice.txt"),
        MessageType::Overdue => include_str!("../../../templates/notifications/overdue.txt"),
        MessageType::Confirmation => include_str!("../../../templates/notifications/confirmation.txt"),
        MessageType::LowBalance => include_str!("../../../templates/notifications/low_balance.txt"),
    }
}

/// `template` with each `{name}` replaced by its value; lines with an unknown or
/// missing placeholder are dropped. Trailing newlines are trimmed.
pub fn render(template: &str, values: &[(&str, Option<String>)]) -> String {
    let mut lines = Vec::new();
    'line: for line in template.lines() {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(start) = rest.find('{') {
            let Some(len) = rest[start..].find('}') else { break };
            let name = &rest[start + 1..start + len];
            match values.iter().find(|(n, _)| *n == name) {
                Some((_, Some(value))) => {
                    out.push_str(&rest[..start]);
                    out.push_str(value);
                    rest = &rest[start + len + 1..];
                }
                _ => continue 'line,
            }
        }
        out.push_str(rest);
        lines.push(out);
    }
    lines.join("\n").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_values(due: Option<&str>) -> Vec<(&'static str, Option<String>)> {
        vec![
            ("customer_name", Some("John Doe".into())),
            ("amount", Some("KES 1,500.00".into())),
            ("invoice_id", Some("INV-001".into())),
            ("due_date", due.map(str::to_owned)),
        ]
    }

    #[test]
    fn the_seeds_payment_reminder_word_for_word() {
        let text = render(
            default_template(MessageType::PaymentReminder),
            &seed_values(Some("2026-02-15")),
        );
        assert_eq!(
            text,
            "Payment Due Reminder\n\nDear John Doe,\n\nThis is a reminder that your payment of KES 1,500.00 is due.\n\n\
             Invoice: #INV-001\nDue Date: 2026-02-15\n\nPlease ignore if already paid."
        );
    }

    #[test]
    fn a_missing_value_drops_its_line() {
        let text = render(default_template(MessageType::Invoice), &seed_values(None));
        assert_eq!(
            text,
            "New Invoice Generated\n\nDear John Doe,\n\nA new invoice has been generated for your account.\n\n\
             Amount: KES 1,500.00\nInvoice: #INV-001"
        );
        let text = render(default_template(MessageType::Confirmation), &seed_values(None));
        assert!(
            text.ends_with("Invoice: #INV-001\n\nYour account is now up to date."),
            "{text}"
        );
        let overdue = render(default_template(MessageType::Overdue), &seed_values(Some("2026-02-15")));
        assert!(overdue.contains("Outstanding: KES 1,500.00\nInvoice: #INV-001\n\nPlease settle"));
    }
}
