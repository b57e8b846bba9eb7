//! Whole answers read as streams. A client that asks for a whole answer
//! still gets one, but the gateway asks the provider for a stream: a
//! provider sends a whole answer's headers only once it has generated it,
//! so a hung provider could not be told from a slow one before the total
//! deadline, and no fallback could happen in time. As a stream, the first
//! byte is due within `first_byte` and each next within `idle`, like any
//! stream. The stream is decoded once into canonical events (tool calls
//! judged on the way; a refused one can still escalate at the very end,
//! since the client has seen nothing), assembled, and written whole in the
//! client's dialect (`stream::table::whole_transcoder`). A failure at any
//! point fails the attempt, so the next target is asked. A provider that
//! answers the stream request with a whole JSON body is read as such.

use super::upstream::{ANSWER_CAP, body_stream, read_answer};
use super::{Call, Opened, Operation, Provider, unsupported};
use crate::core::{RawRequest, UsageMeter};
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::guard::tools::ToolCheck;
use crate::protocol::client_codec;
use crate::stream::{AnswerGuard, Relay, StreamEnd, table};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::time::Instant;

fn malformed(message: String) -> UpstreamError {
    UpstreamError::new(UpstreamErrorKind::Malformed, message)
}

impl Provider {
    /// A whole answer for `call`, read from the provider as a stream.
    pub(super) async fn open_whole_via_stream(
        &self,
        call: &Call<'_>,
        started: Instant,
        deadline: Instant,
    ) -> Result<Opened, UpstreamError> {
        let streamed = match call.raw.as_stream() {
            Some(body) => RawRequest::parse(body, call.raw.kind())
                .map_err(|e| malformed(format!("cannot ask for a stream: {e}")))?,
            None => call.raw.clone(),
        };
        let as_stream = Call {
            raw: &streamed,
            ..*call
        };
        let request = self
            .build(&as_stream, Operation::Messages)
            .await?
            .ok_or_else(unsupported)?;
        let first_by = self.first_by(call, started, deadline);
        let resp = self.send_checked(request, first_by, deadline).await?;
        let json = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if json {
            let idle = call.timeouts.idle.unwrap_or(self.timeouts.idle);
            let body = read_answer(resp, deadline, idle).await?;
            return self.whole_answer(call, body);
        }
        let tools = call.tools.map(|t| ToolCheck {
            whole_answer: true,
            ..t.clone()
        });
        let guard = || self.guarded.then(|| AnswerGuard::new(call.tools_offered()));
        let client = client_codec(call.client.dialect());
        let transcoder =
            table::whole_transcoder(self.adapter.wire(), client, call.raw, guard, tools);
        let idle = call.timeouts.idle.unwrap_or(self.timeouts.idle);
        let mut relay = Relay::new(body_stream(resp), transcoder, idle, deadline);
        relay.limit_bytes(Some(call.max_response_bytes.unwrap_or(ANSWER_CAP as u64)));
        // The whole answer is the first (and only) thing the relay gives:
        // the first byte is due by `first_by`, each next within `idle`.
        relay.first_event(first_by).await?;
        let (body, meter) = collect(relay).await?;
        Ok(Opened::Json { body, meter })
    }
}

/// Read `relay` to its end: the answer's body, and the meter.
async fn collect(mut relay: Relay) -> Result<(Bytes, UsageMeter), UpstreamError> {
    let (tx, mut ended) = tokio::sync::oneshot::channel();
    relay.on_end(Box::new(move |end, meter| {
        let _ = tx.send((end, meter.clone()));
    }));
    let mut body = BytesMut::new();
    while let Some(Ok(chunk)) = relay.next().await {
        body.extend_from_slice(&chunk);
    }
    let (end, meter) = ended
        .try_recv()
        .map_err(|_| malformed("the answer's stream did not end".into()))?;
    match end {
        StreamEnd::Completed if !body.is_empty() => Ok((body.freeze(), meter)),
        StreamEnd::Failed(e) => Err(e),
        _ => Err(malformed("the answer's stream was incomplete".into())),
    }
}
