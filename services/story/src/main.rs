//! `reelforge-story`: the story service alone, as `reelforge serve --only story`.

fn main() -> std::process::ExitCode {
    shared::process::service_main(story::service())
}
