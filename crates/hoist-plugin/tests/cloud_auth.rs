//! The cloud auth plugins (`ecr`, `gar`, `ibm`) against loopback stand-ins of their
//! services. The ECR fake checks the SigV4 signature with its own implementation.

mod common;

use common::{basic, kind, load};

use hoist_plugin::{CredentialRequest, GuestErrorKind, Plugin, PluginCredential, PluginError};
use sha2::{Digest, Sha256};

async fn ask(p: &Plugin, registry: &str) -> Result<PluginCredential, PluginError> {
    p.get_credential(&CredentialRequest {
        registry,
        repository: "team/app",
        actions: &["pull"],
        challenge: None,
    })
    .await
}

fn header<'a>(req: &'a common::Seen, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

// --- An independent SigV4 verifier (RFC 2104 HMAC over sha2) ---

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > 64 {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad, msg.to_vec()].concat());
    Sha256::digest([opad, inner.to_vec()].concat()).to_vec()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

/// Recomputes the signature of `req` from the headers it lists as signed; returns
/// `Err(why)` when it does not match or the scope is not `want_scope`'s.
fn verify_sigv4(req: &common::Seen, secret: &str, region: &str) -> Result<(), String> {
    let auth = header(req, "authorization").ok_or("no authorization header")?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not AWS4-HMAC-SHA256")?;
    let field = |name: &str| {
        rest.split(", ")
            .find_map(|f| f.strip_prefix(name))
            .map(str::to_string)
            .ok_or(format!("no {name}"))
    };
    let credential = field("Credential=")?;
    let signed = field("SignedHeaders=")?;
    let signature = field("Signature=")?;
    let date_time = header(req, "x-amz-date").ok_or("no x-amz-date")?;
    let date = &date_time[..8];
    let scope = format!("{date}/{region}/ecr/aws4_request");
    if credential != format!("AKIDEXAMPLE/{scope}") {
        return Err(format!("credential scope {credential}"));
    }
    for must in ["host", "x-amz-date", "x-amz-target", "content-type"] {
        if !signed.split(';').any(|h| h == must) {
            return Err(format!("{must} is not signed"));
        }
    }
    let (method, path) = {
        let mut it = req.line.split(' ');
        (it.next().unwrap_or(""), it.next().unwrap_or(""))
    };
    let mut canonical = format!("{method}\n{path}\n\n");
    for h in signed.split(';') {
        let v = header(req, h).ok_or(format!("signed header {h} missing"))?;
        canonical.push_str(&format!("{h}:{}\n", v.trim()));
    }
    canonical.push_str(&format!(
        "\n{signed}\n{}",
        hex::encode(Sha256::digest(&req.body))
    ));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let want = hex::encode(hmac(
        &signing_key(secret, date, region, "ecr"),
        to_sign.as_bytes(),
    ));
    if want == signature {
        Ok(())
    } else {
        Err(format!("signature {signature}, expected {want}"))
    }
}

#[test]
fn the_verifiers_hmac_matches_awss_published_signing_key() {
    // AWS's documented example (Signature Version 4, "deriving the signing key").
    assert_eq!(
        hex::encode(signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam"
        )),
        "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
    );
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

#[tokio::test]
async fn ecr_signs_get_authorization_token_with_sigv4() {
    let server = common::FakeServer::start(|req| {
        let target = header(req, "x-amz-target").unwrap_or("");
        if !req.line.starts_with("POST / ")
            || target != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
            || header(req, "content-type") != Some("application/x-amz-json-1.1")
        {
            return (400, br#"{"__type":"UnknownOperationException"}"#.to_vec());
        }
        match verify_sigv4(req, SECRET, "eu-west-3") {
            Ok(()) => (
                200,
                br#"{"authorizationData":[{"authorizationToken":"QVdTOmVjci1wYXNzd29yZA==","expiresAt":1.7E9,"proxyEndpoint":"https://x"}]}"#
                    .to_vec(),
            ),
            Err(why) => (
                403,
                format!(r#"{{"__type":"InvalidSignatureException","message":"{why}"}}"#)
                    .into_bytes(),
            ),
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_SESSION_TOKEN", "session/token+1"),
        ("AWS_REGION", "eu-west-3"),
    ];
    let host = common::host_in(dir.path(), &secrets, &[]);
    let p = load(&host, "ecr", None);
    assert!(
        p.manifest()
            .serves("123456789012.dkr.ecr.eu-west-3.amazonaws.com")
    );
    assert_eq!(
        ask(&p, &server.addr).await.unwrap(),
        basic("AWS", "ecr-password")
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        header(&seen[0], "x-amz-security-token"),
        Some("session/token+1")
    );
    assert!(
        header(&seen[0], "authorization")
            .unwrap()
            .contains("x-amz-security-token"),
        "the session token is signed"
    );
    assert_eq!(seen[0].body, b"{}");
    // The signing time is the host's clock (`host.now`), in AWS's basic ISO 8601 form.
    let amz_date = header(&seen[0], "x-amz-date").unwrap();
    let today = std::process::Command::new("date")
        .args(["-u", "+%Y%m%dT%H"])
        .output()
        .unwrap();
    let today = String::from_utf8(today.stdout).unwrap();
    assert!(
        amz_date.len() == 16 && amz_date.ends_with('Z') && amz_date.starts_with(today.trim()),
        "{amz_date} vs {today}"
    );

    // A wrong secret key: the fake's own verification fails, and so does the plugin.
    let mut wrong = secrets;
    wrong[1] = ("AWS_SECRET_ACCESS_KEY", "not-the-key");
    let host = common::host_in(dir.path(), &wrong, &[]);
    let err = ask(&load(&host, "ecr", None), &server.addr)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("HTTP 403 InvalidSignatureException"),
        "{err}"
    );

    // No keys: nothing to offer, the chain moves on.
    let host = common::host_in(dir.path(), &[("AWS_REGION", "eu-west-3")], &[]);
    assert_eq!(
        kind(ask(&load(&host, "ecr", None), &server.addr).await),
        GuestErrorKind::NotFound
    );

    // Narrowed to the secrets only: the call to AWS is refused by the host.
    let host = common::host_in(dir.path(), &secrets, &[]);
    let p = load(&host, "ecr", Some(&["secret:AWS_*"]));
    assert_eq!(kind(ask(&p, &server.addr).await), GuestErrorKind::Denied);
}

#[tokio::test]
async fn gar_uses_the_env_token_or_the_metadata_server() {
    let server = common::FakeServer::start(|req| {
        if req
            .line
            .starts_with("GET /computeMetadata/v1/instance/service-accounts/default/token ")
            && header(req, "metadata-flavor") == Some("Google")
        {
            (
                200,
                br#"{"access_token":"ya29.meta","expires_in":3599,"token_type":"Bearer"}"#.to_vec(),
            )
        } else {
            (404, b"{}".to_vec())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(
        dir.path(),
        &[("GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.env")],
        &[],
    );
    let p = load(&host, "gar", None);
    assert!(p.manifest().serves("europe-west1-docker.pkg.dev") && p.manifest().serves("gcr.io"));
    assert_eq!(
        ask(&p, "europe-west1-docker.pkg.dev").await.unwrap(),
        basic("oauth2accesstoken", "ya29.env")
    );
    assert!(server.requests().is_empty(), "the env token needs no call");

    let host = common::host_in(dir.path(), &[], &[]);
    let p = load(&host, "gar", None);
    assert_eq!(
        ask(&p, &server.addr).await.unwrap(),
        basic("oauth2accesstoken", "ya29.meta")
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn gar_without_a_metadata_server_is_not_found() {
    // A closed loopback port stands for "not on Google Cloud".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[], &[]);
    let err = ask(&load(&host, "gar", None), &addr).await;
    assert_eq!(kind(err), GuestErrorKind::NotFound);
}

#[tokio::test]
async fn ibm_exchanges_the_api_key_at_iam_or_uses_it_directly() {
    let server = common::FakeServer::start(|req| {
        let body = String::from_utf8_lossy(&req.body);
        if req.line.starts_with("POST /identity/token ")
            && body.contains("grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey")
            && body.contains("apikey=key%2F1")
        {
            (
                200,
                br#"{"access_token":"iam-token","expires_in":3600}"#.to_vec(),
            )
        } else {
            (400, br#"{"errorCode":"BXNIM0415E"}"#.to_vec())
        }
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let host = common::host_in(dir.path(), &[("IBMCLOUD_API_KEY", "key/1")], &[]);
    let p = load(&host, "ibm", None);
    assert!(p.manifest().serves("us.icr.io") && p.manifest().serves("registry.ng.bluemix.net"));
    assert_eq!(
        ask(&p, &server.addr).await.unwrap(),
        basic("iambearer", "iam-token")
    );

    // IAM not granted: the API key itself, as user iamapikey.
    let p = load(&host, "ibm", Some(&["secret:IBMCLOUD_API_KEY"]));
    assert_eq!(
        ask(&p, &server.addr).await.unwrap(),
        basic("iamapikey", "key/1")
    );
    assert_eq!(server.requests().len(), 1);

    // A refused key is a failure.
    let host = common::host_in(dir.path(), &[("IBMCLOUD_API_KEY", "bad")], &[]);
    let err = ask(&load(&host, "ibm", None), &server.addr)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 400"), "{err}");

    let host = common::host_in(dir.path(), &[], &[]);
    assert_eq!(
        kind(ask(&load(&host, "ibm", None), &server.addr).await),
        GuestErrorKind::NotFound
    );
}
