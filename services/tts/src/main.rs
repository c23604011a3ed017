//! `reelforge-tts`: the tts service alone, as `reelforge serve --only tts`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(tts::service())
}
