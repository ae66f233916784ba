//! The client's address behind reverse proxies (RFC 7239 `Forwarded`, `X-Forwarded-For`): the
//! headers count only when the direct peer is one of `[server] trusted_proxies`, and then the
//! client is the rightmost address that is not itself a trusted proxy (the leftmost entries
//! are whatever the client chose to send). From any other peer the peer address is the client.

use ipnet::IpNet;
use std::net::IpAddr;

/// The configured trusted proxies; put in the app data so every extractor finds them.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

/// A `trusted_proxies` entry: a CIDR range or a single address.
pub fn parse_range(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
}

impl TrustedProxies {
    /// From the config's entries (validated by check-config; a bad one is skipped).
    pub fn new(entries: &[String]) -> Self {
        Self(entries.iter().filter_map(|e| parse_range(e)).collect())
    }

    fn trusts(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client address for a request from `peer` with these header values.
    pub fn client(
        &self,
        peer: Option<IpAddr>,
        forwarded: &[&str],
        x_forwarded_for: &[&str],
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(&peer) {
            return Some(peer);
        }
        let hops: Option<Vec<IpAddr>> = if !forwarded.is_empty() {
            forwarded
                .iter()
                .flat_map(|v| v.split(','))
                .map(forwarded_for)
                .collect()
        } else {
            x_forwarded_for
                .iter()
                .flat_map(|v| v.split(','))
                .map(|h| parse_node(h.trim()))
                .collect()
        };
        // A header we cannot read says nothing trustworthy: the peer it is.
        let Some(hops) = hops else {
            return Some(peer);
        };
        Some(
            hops.iter()
                .rev()
                .find(|ip| !self.trusts(ip))
                .or(hops.first())
                .copied()
                .unwrap_or(peer),
        )
    }
}

/// The `for=` of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
        .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `[2001:db8::1]:4711`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':').and_then(|(h, _)| h.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let t = TrustedProxies::new(&["10.0.0.0/8".into()]);
        assert_eq!(
            t.client(ip("198.51.100.9"), &[], &["1.2.3.4"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let t = TrustedProxies::new(&["10.0.0.0/8".into(), "192.0.2.1".into()]);
        let xff = ["6.6.6.6, 203.0.113.7", "10.1.1.1"];
        assert_eq!(t.client(ip("192.0.2.1"), &[], &xff), ip("203.0.113.7"));
        let fwd = [r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https, for=10.0.0.2"#];
        assert_eq!(
            t.client(ip("10.0.0.3"), &fwd, &["9.9.9.9"]),
            ip("2001:db8::1")
        );
        assert_eq!(t.client(ip("10.0.0.3"), &[], &["10.0.0.9"]), ip("10.0.0.9"));
        assert_eq!(
            t.client(ip("10.0.0.3"), &[], &["not an address"]),
            ip("10.0.0.3")
        );
        assert_eq!(t.client(ip("10.0.0.3"), &[], &[]), ip("10.0.0.3"));
    }
}
