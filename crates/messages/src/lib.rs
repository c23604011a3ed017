//! The contracts of the fleet's streams: one type per job and event kind, used by producers and
//! consumers alike. Business types live here, not in `crates/shared`, which stays mechanisms.
//!
//! Versioning: a kind (`image.render`) names version 1 of its body. Adding an optional field is
//! compatible (consumers ignore fields they do not know, and missing optional ones default); an
//! incompatible change gets a new kind (`image.render.v2`) that consumers accept beside the old
//! one until no producer sends the old.

pub mod catalogue;
pub mod events;
pub mod jobs;
pub mod steps;

use serde::{de::DeserializeOwned, Serialize};
use shared::bus::{Delivery, Envelope};
use uuid::Uuid;

/// A message body of one kind on one stream.
pub trait Message: Serialize + DeserializeOwned {
    /// The envelope's `kind`.
    const KIND: &'static str;
    /// The stream it travels on.
    const STREAM: &'static str;
}

/// `message` in an envelope of its kind, about `run_id`.
pub fn envelope<M: Message>(message: &M, run_id: Option<Uuid>) -> anyhow::Result<Envelope> {
    Ok(Envelope::new(
        M::KIND,
        run_id,
        serde_json::to_value(message)?,
    ))
}

/// The delivery's body as `M`; a delivery of another kind or an undecodable body is an error
/// (retried, then dead-lettered), naming the message.
pub fn decode<M: Message>(delivery: &Delivery) -> anyhow::Result<M> {
    let envelope = &delivery.envelope;
    anyhow::ensure!(
        envelope.kind == M::KIND,
        "message {} is a `{}`, expected `{}`",
        envelope.id,
        envelope.kind,
        M::KIND
    );
    serde_json::from_value(envelope.body.clone()).map_err(|e| {
        anyhow::anyhow!(
            "message {} ({}) is malformed: {e}",
            envelope.id,
            envelope.kind
        )
    })
}
