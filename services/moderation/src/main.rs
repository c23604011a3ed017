//! `reelforge-moderation`: the moderation service alone, as `reelforge serve --only moderation`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(moderation::service())
}
