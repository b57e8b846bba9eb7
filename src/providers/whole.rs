//! Whole answers read as streams. A client that asks for a whole answer
//! still gets one, but the gateway asks the provider for a stream: a
//! provider sends a whole answer's headers only once it has generated it,
//! so a hung provider could not be told from a slow one before the total
//! deadline, and no fallback could happen in time. As a stream, the first
//! byte is due within `first_byte` and each next within `idle`, like any
//! stream. The stream is carried to the client's dialect by the usual
//! transcoder (tool calls judged on the way; a refused one can still
//! escalate at the very end, since the client has seen nothing), decoded,
//! assembled and written whole. A failure at any point fails the attempt,
//! so the next target is asked. A provider that answers the stream
//! request with a whole JSON body is read as such.

use super::upstream::{ANSWER_CAP, read_answer};
use super::{Call, Opened, Operation, Provider, unsupported};
use crate::core::RawRequest;
use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::guard::tools::ToolCheck;
use crate::stream::assemble::Assembler;
use crate::stream::relay::too_large;
use crate::stream::{Relay, StreamEnd};
use bytes::Bytes;
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
            .adapter
            .request(&as_stream, Operation::Messages)
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
        let mut relay = self.relay(&as_stream, resp, tools, deadline);
        relay.limit_bytes(Some(ANSWER_CAP as u64));
        relay.first_event(first_by).await?;
        let (answer, meter) = assemble(call, relay).await?;
        let body = call.client.encode_answer(call.raw, &answer);
        if let Some(cap) = call.max_response_bytes.filter(|c| body.len() as u64 > *c) {
            return Err(too_large(cap));
        }
        Ok(Opened::Json { body, meter })
    }
}

/// Read `relay` to its end and assemble the answer it carried.
async fn assemble(
    call: &Call<'_>,
    mut relay: Relay,
) -> Result<(crate::core::ChatResponse, crate::core::UsageMeter), UpstreamError> {
    let (tx, mut ended) = tokio::sync::oneshot::channel();
    relay.on_end(Box::new(move |end, meter| {
        let _ = tx.send((end, meter.clone()));
    }));
    let mut decoder = call.client.stream_decoder();
    let (mut events, mut assembler) = (Vec::new(), Assembler::default());
    let mut decoded = Ok(());
    while let Some(Ok(chunk)) = relay.next().await {
        let chunk: Bytes = chunk;
        if decoded.is_ok() {
            decoded = decoder.feed(&chunk, &mut events);
        }
        for e in events.drain(..) {
            assembler.push(&e);
        }
    }
    let (end, meter) = ended
        .try_recv()
        .map_err(|_| malformed("the answer's stream did not end".into()))?;
    if let StreamEnd::Failed(e) = end {
        return Err(e);
    }
    // An error event the provider sent, in place of the rest.
    if let Some(error) = &meter.error {
        return Err(UpstreamError::new(
            crate::error::kind_for_anthropic_error_type(&error.kind),
            format!("upstream stream error: {}", error.message),
        ));
    }
    decoded.and_then(|()| decoder.finish(&mut events))?;
    for e in events.drain(..) {
        assembler.push(&e);
    }
    let answer = assembler
        .finish()
        .ok_or_else(|| malformed("the answer's stream was incomplete".into()))?;
    Ok((answer, meter))
}
