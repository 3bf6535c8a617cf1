//! Masking of personal data for viewers without the `pii.view` permission (support).
//!
//! Applied in the library to everything such a viewer reads, exports included, so no
//! screen or file can forget it. Masked values keep enough shape to tell rows apart
//! (first letter, domain suffix, network part of an IP) without identifying anyone.

/// `alice.moreau@acme.test` → `a•••@•••.test`.
pub fn email(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            let tld = domain.rsplit_once('.').map(|(_, t)| format!(".{t}")).unwrap_or_default();
            format!("{first}•••@•••{tld}")
        }
        None if value.is_empty() => String::new(),
        None => "•••".into(),
    }
}

/// `Alice Moreau` → `A. M.`
pub fn name(value: &str) -> String {
    value
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `203.0.113.45` → `203.0.113.•`; IPv6 keeps its first three groups.
pub fn ip(value: &str) -> String {
    if let Some((net, _)) = value.rsplit_once('.') {
        if value.contains(':') {
            return "•••".into();
        }
        return format!("{net}.•");
    }
    let groups: Vec<&str> = value.split(':').take(3).collect();
    if groups.len() == 3 {
        format!("{}:•••", groups.join(":"))
    } else {
        "•••".into()
    }
}

/// Any free text that may contain emails: each email-like word is masked.
pub fn text(value: &str) -> String {
    value
        .split_inclusive(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '<' || c == '>')
        .map(|part| {
            let trimmed =
                part.trim_end_matches(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '<' || c == '>');
            if trimmed.contains('@') && trimmed.contains('.') {
                format!("{}{}", email(trimmed), &part[trimmed.len()..])
            } else {
                part.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_shape_but_not_identity() {
        assert_eq!(email("alice.moreau@acme.test"), "a•••@•••.test");
        assert_eq!(name("Alice  Moreau"), "A. M.");
        assert_eq!(ip("203.0.113.45"), "203.0.113.•");
        assert_eq!(ip("2001:db8:85a3::8a2e:370:7334"), "2001:db8:85a3:•••");
        assert_eq!(
            text(r#"{"email": "bob@globex.test", "role": "admin"}"#),
            r#"{"email": "b•••@•••.test", "role": "admin"}"#
        );
    }
}
