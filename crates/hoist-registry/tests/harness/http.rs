//! Tiny in-process HTTP/1.1 servers (hyper) for fakes, the token server and the proxy.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Response body type used by every fake.
pub type Body = BoxBody<Bytes, std::io::Error>;
/// A request handler.
pub type Handler = Arc<
    dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Response<Body>> + Send>> + Send + Sync,
>;

/// A body with fixed bytes.
pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// A body that sends `first` and then fails, which makes hyper abort the connection.
/// The pause lets hyper flush `first` to the client before the reset.
pub fn broken(first: Bytes) -> Body {
    let stream = futures_util::stream::unfold(Some(Some(first)), |state| async move {
        match state? {
            Some(first) => Some((Ok(Frame::data(first)), Some(None))),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let e = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset");
                Some((Err(e), None))
            }
        }
    });
    StreamBody::new(stream).boxed()
}

/// A response with a status, headers and body.
pub fn respond(status: u16, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Response<Body> {
    let mut b = Response::builder().status(status);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(full(body)).expect("valid response")
}

/// Serves `handler` on a fresh loopback port until the runtime ends.
pub async fn serve(handler: Handler) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let h = handler.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let h = h.clone();
                    async move { Ok::<_, Infallible>(h(req).await) }
                });
                // Connection errors (including injected resets) end this connection only.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// Reads a whole request body.
pub async fn body_bytes(req: Request<Incoming>) -> (hyper::http::request::Parts, Bytes) {
    let (parts, body) = req.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    (parts, bytes)
}
