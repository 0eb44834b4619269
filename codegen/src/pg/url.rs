//! Connection URL helpers: database replacement, percent-encoding and
//! password redaction. Text only, no connection.

/// Percent-encode everything but RFC 3986 unreserved characters.
pub(super) fn percent_encode(s: impl AsRef<[u8]>) -> String {
    let s = s.as_ref();
    let mut out = String::with_capacity(s.len());
    for &byte in s {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `url` with its database replaced by `dbname`. Splits the URL the way
/// tokio-postgres (and libpq) parse it: credentials up to the first `@`,
/// hosts up to `/` or `?`, database up to `?`, then parameters, where a
/// `dbname=` parameter would override the path and so is dropped.
/// Key=value connection strings get a trailing `dbname=` (last one wins).
pub(super) fn url_with_dbname(url: &str, dbname: &str) -> String {
    for scheme in ["postgres://", "postgresql://"] {
        let Some(rest) = url.strip_prefix(scheme) else {
            continue;
        };
        let creds_end = rest.find('@').map_or(0, |i| i + 1);
        let (creds, rest) = rest.split_at(creds_end);
        let hosts_end = rest.find(&['/', '?'][..]).unwrap_or(rest.len());
        let (hosts, rest) = rest.split_at(hosts_end);
        let query = match rest.strip_prefix('/') {
            Some(path) => path.find('?').map_or("", |i| &path[i..]),
            None => rest,
        };
        let params: Vec<&str> = query
            .strip_prefix('?')
            .unwrap_or("")
            .split('&')
            .filter(|param| !param.is_empty() && param.split('=').next() != Some("dbname"))
            .collect();
        let mut out = format!("{scheme}{creds}{hosts}/{}", percent_encode(dbname));
        if !params.is_empty() {
            out.push('?');
            out.push_str(&params.join("&"));
        }
        return out;
    }
    format!(
        "{} dbname='{}'",
        url.trim_end(),
        dbname.replace('\\', r"\\").replace('\'', r"\'")
    )
}

/// `url` with its password (userinfo or `password=` parameter) masked.
pub(super) fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    for scheme in ["postgres://", "postgresql://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            if let Some(at) = rest.find('@') {
                if let Some(colon) = rest[..at].find(':') {
                    out = format!("{scheme}{}:***{}", &rest[..colon], &rest[at..]);
                }
            }
        }
    }
    if let Some(i) = out.find("password=") {
        let start = i + "password=".len();
        let value = &out[start..];
        let len = if let Some(quoted) = value.strip_prefix('\'') {
            quoted.find('\'').map_or(value.len(), |end| end + 2)
        } else {
            value
                .find(|c: char| c == '&' || c.is_whitespace())
                .unwrap_or(value.len())
        };
        out.replace_range(start..start + len, "***");
    }
    out
}
