//! htpasswd files: `user:hash` per line, `#` comments and blank lines ignored. Only bcrypt
//! hashes (`$2y$`, `$2b$`, `$2a$`) are taken: the other formats htpasswd can write (MD5-crypt,
//! SHA-1, crypt, plain) are too weak to accept, and refusing them says so instead of failing
//! every login.

use std::collections::BTreeMap;

use super::config::HtpasswdConfig;

/// Users and their bcrypt hashes.
pub(crate) type Users = BTreeMap<String, String>;

/// Reads the file and the inline lines; a message naming the place of the first problem.
pub(crate) fn load(config: &HtpasswdConfig) -> Result<Users, String> {
    let mut users = Users::new();
    if let Some(path) = &config.file {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("htpasswd.file `{path}`: file not found"),
            _ => format!("htpasswd.file `{path}`: cannot be read: {e}"),
        })?;
        parse(&text, &mut users).map_err(|e| format!("htpasswd.file `{path}`: {e}"))?;
    }
    if let Some(text) = &config.inline {
        parse(text, &mut users).map_err(|e| format!("htpasswd.inline: {e}"))?;
    }
    Ok(users)
}

fn parse(text: &str, users: &mut Users) -> Result<(), String> {
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line_no = number + 1;
        let Some((user, hash)) = line.split_once(':') else {
            return Err(format!("line {line_no} is not `user:hash`"));
        };
        if user.is_empty() {
            return Err(format!("line {line_no} has no user name"));
        }
        let bcrypt = ["$2y$", "$2b$", "$2a$"]
            .iter()
            .any(|prefix| hash.starts_with(prefix));
        if !bcrypt {
            return Err(format!(
                "line {line_no} (user `{user}`): only bcrypt hashes are accepted (create them with `htpasswd -B`)"
            ));
        }
        users.insert(user.to_string(), hash.to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bcrypt_lines_and_names_bad_ones() {
        let mut users = Users::new();
        parse(
            "# comment\n\nalice:$2y$04$abcdefghijklmnopqrstuu\n",
            &mut users,
        )
        .unwrap();
        assert!(users.contains_key("alice"));
        let err = parse("bob:{SHA}abc=", &mut users).unwrap_err();
        assert!(err.contains("line 1 (user `bob`): only bcrypt"), "{err}");
        assert!(parse("nocolon", &mut users).unwrap_err().contains("line 1"));
    }
}
