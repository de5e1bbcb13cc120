//! Tag and repository listings with `Link` pagination.

use hoist_oci::Reference;
use reqwest::header::{HeaderMap, LINK};
use reqwest::{Method, Url};
use serde::Deserialize;

use crate::auth::repo_scope;
use crate::client::Client;
use crate::error::{Operation, RegistryError};
use crate::transport::{Ctx, Endpoint};

/// Stops runaway pagination.
const MAX_PAGES: usize = 10_000;

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

/// The target of a `Link: <url>; rel="next"` header value.
pub(crate) fn next_link(h: &HeaderMap) -> Option<String> {
    for v in h.get_all(LINK).iter().filter_map(|v| v.to_str().ok()) {
        for part in v.split(',') {
            let mut pieces = part.split(';');
            let target = pieces.next()?.trim();
            let is_next = pieces.any(|p| {
                let p = p.trim().replace(' ', "");
                p == "rel=\"next\"" || p == "rel=next"
            });
            if is_next && target.starts_with('<') && target.ends_with('>') {
                return Some(target[1..target.len() - 1].to_string());
            }
        }
    }
    None
}

impl Client {
    async fn paginate<T, F>(
        &self,
        mut c: Ctx,
        first: String,
        mut take: F,
    ) -> Result<Vec<String>, RegistryError>
    where
        T: for<'de> Deserialize<'de>,
        F: FnMut(T) -> Vec<String>,
    {
        let (_, info) = self.pinged(&c.registry).await?;
        let mut out = Vec::new();
        let mut ep = Endpoint::Path(first);
        for _ in 0..MAX_PAGES {
            let resp = self
                .send(&mut c, Method::GET, ep.clone(), HeaderMap::new(), None)
                .await?;
            if !resp.status().is_success() {
                return Err(self.fail(&c, resp).await);
            }
            let next = next_link(resp.headers());
            let page: T = resp.json().await.map_err(|e| RegistryError::Protocol {
                op: c.op,
                target: c.target.clone(),
                reason: format!("listing is not valid JSON: {}", e.without_url()),
            })?;
            out.extend(take(page));
            let Some(next) = next else {
                return Ok(out);
            };
            let url: Url = info.base.join(&next).map_err(|e| RegistryError::Protocol {
                op: c.op,
                target: c.target.clone(),
                reason: format!("invalid Link header: {e}"),
            })?;
            ep = Endpoint::Url(url);
        }
        Err(RegistryError::Protocol {
            op: c.op,
            target: c.target.clone(),
            reason: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// Every tag of `repo`, following `Link` pagination; `page_size` sets `n`.
    pub async fn list_tags(
        &self,
        repo: &Reference,
        page_size: Option<u32>,
    ) -> Result<Vec<String>, RegistryError> {
        let c = Ctx {
            op: Operation::ListTags,
            registry: repo.domain().to_string(),
            target: repo.name(),
            scopes: vec![repo_scope(repo.repository(), "pull")],
        };
        let mut path = format!("v2/{}/tags/list", repo.repository());
        if let Some(n) = page_size {
            path.push_str(&format!("?n={n}"));
        }
        self.paginate(c, path, |t: TagList| t.tags.unwrap_or_default())
            .await
    }

    /// Every repository of `registry` (`/v2/_catalog`), following `Link` pagination.
    pub async fn catalog(
        &self,
        registry: &str,
        page_size: Option<u32>,
    ) -> Result<Vec<String>, RegistryError> {
        let c = Ctx {
            op: Operation::Catalog,
            registry: registry.to_string(),
            target: registry.to_string(),
            scopes: vec!["registry:catalog:*".to_string()],
        };
        let mut path = "v2/_catalog".to_string();
        if let Some(n) = page_size {
            path.push_str(&format!("?n={n}"));
        }
        self.paginate(c, path, |t: Catalog| t.repositories.unwrap_or_default())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_next_links() {
        let mut h = HeaderMap::new();
        h.insert(
            LINK,
            HeaderValue::from_static(r#"</v2/a/tags/list?last=x&n=1>; rel="next""#),
        );
        assert_eq!(next_link(&h).as_deref(), Some("/v2/a/tags/list?last=x&n=1"));
        h.insert(
            LINK,
            HeaderValue::from_static(r#"<https://r/p1>; rel="prev", <https://r/p3>; rel=next"#),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://r/p3"));
        h.insert(
            LINK,
            HeaderValue::from_static(r#"<https://r/p1>; rel="prev""#),
        );
        assert_eq!(next_link(&h), None);
    }
}
