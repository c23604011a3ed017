//! The provider layer against fake servers speaking each provider's wire format, and real Redis.

mod budget;
mod chain;
mod image_clients;
mod registry;
mod speech_clients;
mod support;
mod text_clients;
