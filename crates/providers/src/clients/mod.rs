//! One module per documented provider API.

pub mod anthropic;
pub mod azure_speech;
pub mod elevenlabs;
pub mod gemini;
pub mod hf_images;
mod json_reply;
pub mod openai_chat;
pub mod openai_images;
pub mod openai_moderation;
pub mod openai_tts;
pub mod replicate;
pub mod stability;
