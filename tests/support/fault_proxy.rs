//! A small fault-injecting TCP proxy in front of the DynamoDB-compatible server: it
//! forwards, refuses, hangs, delays, or answers every request with DynamoDB's
//! throttling error, as the test switches it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with the next connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Pass everything through.
    None,
    /// Accept and close at once, before any answer (the SDK sees a broken connection).
    Refuse,
    /// Read the request and never answer.
    Hang,
    /// Wait this long, then pass the request through.
    Slow(Duration),
    /// Answer every request with HTTP 400 `ThrottlingException`.
    Throttle,
}

pub struct FaultProxy {
    pub endpoint: String,
    fault: Arc<Mutex<Fault>>,
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
        let fault = Arc::new(Mutex::new(Fault::None));
        let current = Arc::clone(&fault);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let fault = *current.lock().unwrap();
                let upstream = upstream.clone();
                tokio::spawn(serve(client, upstream, fault));
            }
        });
        FaultProxy { endpoint, fault }
    }

    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

async fn serve(mut client: TcpStream, upstream: String, fault: Fault) {
    match fault {
        Fault::None => forward(client, &upstream).await,
        Fault::Refuse => drop(client),
        Fault::Hang => {
            let mut sink = [0u8; 4096];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        Fault::Slow(delay) => {
            tokio::time::sleep(delay).await;
            forward(client, &upstream).await;
        }
        Fault::Throttle => {
            let mut request = [0u8; 65536];
            let _ = client.read(&mut request).await;
            let body = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: fault\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes()).await;
        }
    }
}

async fn forward(mut client: TcpStream, upstream: &str) {
    if let Ok(mut server) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}
